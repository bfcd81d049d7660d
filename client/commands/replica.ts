/**
 * `dbaas replica add|remove|scale`: scale a running cluster. The checks read Docker and Patroni
 * over their HTTP APIs (the read inventory, as `cluster status`): the worker's modules (dockerode,
 * the certificate code) load only for a removal's check.
 */
import * as crypto from 'node:crypto';
import { RUNNING_POSTGRES } from '../../common/inventory';
import { clusterView } from '../../activities/patroni-api';
import { removalProblem } from '../../common/members';
import { replicaWorkflowIds } from '../../common/workflow-ids';
import type { AddReplicaResult, RemoveReplicaResult } from '../../common/replicas';
import type { addReplicas, removeReplica, scaleReadOnly, ScaleReadOnlyResult } from '../../workflows';
import { connectInventory, connectReadInventory } from '../connections';
import { UsageError } from '../errors';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';
import { requireLiveCluster } from '../cluster-info';

const DRAIN_TIMEOUT_MS = 30_000;

export async function replicaAddCommand(cluster: string, o: { count: number; readOnly: boolean }): Promise<void> {
  // The Docker checks and the Temporal connection are independent: do them at once.
  const checked = (async () => {
    const inv = await connectReadInventory();
    await requireLiveCluster(inv, cluster);
    const running = await inv.members(cluster, RUNNING_POSTGRES);
    const view = await clusterView(inv, cluster, running.map((m) => m.name));
    if (!view?.some((m) => m.role === 'leader')) throw new UsageError(`cluster ${cluster} has no leader; cannot clone a new member`);
  })();
  const connecting = connectGateway();
  const [, gateway] = await Promise.all([checked, connecting]).catch(async (err: unknown) => {
    await connecting.then((g) => g.close(), () => undefined);
    throw err;
  });
  try {
    // Each request is its own workflow: the names are chosen under the cluster's lease, so two
    // `replica add` at once add two members each time.
    const request = `${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
    const { run: handle } = await startOrAttachRun<typeof addReplicas>(
      gateway, 'addReplicas', replicaWorkflowIds.addMany(cluster, request), cluster,
      [{ cluster, count: o.count, readOnly: o.readOnly }],
      { running: `members are being added to ${cluster}`, starting: `adding ${o.count} ${o.readOnly ? 'read-only ' : ''}member${o.count === 1 ? '' : 's'} to ${cluster}` },
      async () => undefined,
    );
    const results = await followRun<AddReplicaResult[]>(gateway, handle, `replica add ${cluster}`);
    for (const r of results) {
      console.log(`${r.member} added to ${r.cluster}${r.readOnly ? ' (read-only: never promoted)' : ''}: streaming, lag ${r.lagBytes} bytes, serving reads through ro`);
    }
  } finally {
    await gateway.close();
  }
}

export async function replicaRemoveCommand(cluster: string, member: string): Promise<void> {
  const inv = await connectReadInventory();
  await requireLiveCluster(inv, cluster);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof removeReplica>(
      gateway, 'removeReplica', replicaWorkflowIds.remove(cluster, member), cluster,
      [{ cluster, member, drainTimeoutMs: DRAIN_TIMEOUT_MS }],
      { running: `${member} is being removed from ${cluster}`, starting: `removing ${member} from ${cluster}` },
      async () => {
        // Refuse before starting anything: the leader, an unknown member, the last failover candidate.
        const { describeCluster } = await import('../../activities/cluster');
        const problem = removalProblem((await describeCluster(await connectInventory(), cluster)).members, member);
        if (problem) throw new UsageError(problem);
      },
    );
    const r = await followRun<RemoveReplicaResult>(gateway, handle, `remove ${member}`);
    console.log(`${r.member} removed from ${r.cluster}` + (r.sessionsCutAfterDrain ? ` (${r.sessionsCutAfterDrain} sessions were still open after the drain timeout)` : ''));
  } finally {
    await gateway.close();
  }
}

export async function replicaScaleCommand(cluster: string, o: { readOnly: number }): Promise<void> {
  const inv = await connectReadInventory();
  await requireLiveCluster(inv, cluster);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof scaleReadOnly>(
      gateway, 'scaleReadOnly', replicaWorkflowIds.scaleReadOnly(cluster), cluster,
      [{ cluster, target: o.readOnly, drainTimeoutMs: DRAIN_TIMEOUT_MS }],
      { running: `${cluster} is being scaled`, starting: `scaling read-only members of ${cluster} to ${o.readOnly}` },
      async () => undefined,
    );
    const r = await followRun<ScaleReadOnlyResult>(gateway, handle, `scale ${cluster}`);
    const change = [...r.added.map((m) => `+${m}`), ...r.removed.map((m) => `-${m}`)].join(' ') || 'no change';
    console.log(`${cluster}: ${r.readOnly.length} read-only members [${r.readOnly.join(', ')}] (${change})`);
  } finally {
    await gateway.close();
  }
}
