/** `dbaas replica add|remove`: scale a running cluster. */
import { describeCluster } from '../../activities/cluster';
import { nextMemberNames, removalProblem } from '../../common/members';
import { replicaWorkflowIds } from '../../common/names';
import type { AddReplicaResult, RemoveReplicaResult } from '../../common/replicas';
import type { addReplica, removeReplica, scaleReadOnly, ScaleReadOnlyResult } from '../../workflows';
import { connectDocker, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { follow, startOrAttach } from './cluster';
import { clusterNames } from '../cluster-info';

const DRAIN_TIMEOUT_MS = 30_000;

export async function replicaAddCommand(cluster: string, o: { count: number; readOnly: boolean }): Promise<void> {
  // The Docker checks and the Temporal connection are independent: do them at once.
  const checked = (async () => {
    const docker = await connectDocker();
    if (!(await clusterNames(docker)).includes(cluster)) throw new UsageError(`no cluster named ${cluster}`);
    const desc = await describeCluster(docker, cluster);
    if (!desc.leader) throw new UsageError(`cluster ${cluster} has no leader; cannot clone a new member`);
    return nextMemberNames(desc.namesInUse, o.count);
  })();
  const connecting = connectTemporal();
  const [members, { client, connection }] = await Promise.all([checked, connecting]).catch(async (err: unknown) => {
    await connecting.then((c) => c.connection.close(), () => undefined);
    throw err;
  });
  try {
    const handles = await Promise.all(
      members.map((member) =>
        startOrAttach<typeof addReplica>(
          client, 'addReplica', replicaWorkflowIds.add(cluster, member), cluster,
          [{ cluster, member, readOnly: o.readOnly, cloneMethod: 'basebackup' }],
          { running: `${member} is being added to ${cluster}`, starting: `adding ${o.readOnly ? 'read-only ' : ''}${member} to ${cluster}` },
          async () => undefined,
        ),
      ),
    );
    const results = await Promise.all(handles.map((h, i) => follow<AddReplicaResult>(h, `add ${members[i]}`)));
    for (const r of results) {
      console.log(`${r.member} added to ${r.cluster}${r.readOnly ? ' (read-only: never promoted)' : ''}: streaming, lag ${r.lagBytes} bytes, serving reads through ro`);
    }
  } finally {
    await connection.close();
  }
}

export async function replicaRemoveCommand(cluster: string, member: string): Promise<void> {
  const docker = await connectDocker();
  if (!(await clusterNames(docker)).includes(cluster)) throw new UsageError(`no cluster named ${cluster}`);
  const { client, connection } = await connectTemporal();
  try {
    const handle = await startOrAttach<typeof removeReplica>(
      client, 'removeReplica', replicaWorkflowIds.remove(cluster, member), cluster,
      [{ cluster, member, drainTimeoutMs: DRAIN_TIMEOUT_MS }],
      { running: `${member} is being removed from ${cluster}`, starting: `removing ${member} from ${cluster}` },
      async () => {
        // Refuse before starting anything: the leader, an unknown member, the last failover candidate.
        const problem = removalProblem((await describeCluster(docker, cluster)).members, member);
        if (problem) throw new UsageError(problem);
      },
    );
    const r = await follow<RemoveReplicaResult>(handle, `remove ${member}`);
    console.log(`${r.member} removed from ${r.cluster}` + (r.sessionsCutAfterDrain ? ` (${r.sessionsCutAfterDrain} sessions were still open after the drain timeout)` : ''));
  } finally {
    await connection.close();
  }
}

export async function replicaScaleCommand(cluster: string, o: { readOnly: number }): Promise<void> {
  const docker = await connectDocker();
  if (!(await clusterNames(docker)).includes(cluster)) throw new UsageError(`no cluster named ${cluster}`);
  const { client, connection } = await connectTemporal();
  try {
    const handle = await startOrAttach<typeof scaleReadOnly>(
      client, 'scaleReadOnly', replicaWorkflowIds.scaleReadOnly(cluster), cluster,
      [{ cluster, target: o.readOnly, drainTimeoutMs: DRAIN_TIMEOUT_MS }],
      { running: `${cluster} is being scaled`, starting: `scaling read-only members of ${cluster} to ${o.readOnly}` },
      async () => undefined,
    );
    const r = await follow<ScaleReadOnlyResult>(handle, `scale ${cluster}`);
    const change = [...r.added.map((m) => `+${m}`), ...r.removed.map((m) => `-${m}`)].join(' ') || 'no change';
    console.log(`${cluster}: ${r.readOnly.length} read-only members [${r.readOnly.join(', ')}] (${change})`);
  } finally {
    await connection.close();
  }
}
