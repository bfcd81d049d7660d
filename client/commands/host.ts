/** `dbaas host add|list|remove`: the Docker engines members may run on (the local engine is host `local`). */
import Docker from 'dockerode';
import { hostRecordProblem, type HostRecord } from '../../common/host-spec';
import { LOCAL_HOST, type HostName } from '../../common/inventory';
import { resolvePaths } from '../../common/paths';
import { addHost, engineOf, readHosts, removeHost } from '../../activities/hosts/registry';
import { LocalEngine } from '../../activities/hosts/local-engine';
import { connectTemporal, dockerAddress } from '../connections';
import { temporal } from '@temporalio/proto';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { hostWorkflowIds } from '../../common/workflow-ids';
import type { drainHost, DrainHostResult } from '../../workflows';
import { follow } from '../workflow-run';
import { TASK_QUEUE, hostTaskQueue } from '../../common/task-queues';
import { UsageError } from '../errors';
import { table } from '../table';

export interface HostView {
  name: HostName;
  docker: string;
  address: string | null;
  zone: string | null;
  /** up: its engine answers; down: it does not (within 3 s). */
  state: 'up' | 'down';
  /** Whether a worker polls the host's task queue (unknown when Temporal does not answer). */
  worker: 'polling' | 'none' | 'unknown';
  /** Cluster members it runs, by cluster (postgres, etcd, haproxy, poolers). */
  members: Record<string, number>;
}

const PING_TIMEOUT_MS = 3000;

/** Whether a worker polls the host's queue for activities, asked of Temporal; unknown when it does not answer. */
async function workerOf(client: Client | undefined, host: HostName): Promise<HostView['worker']> {
  if (!client) return 'unknown';
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: hostTaskQueue(TASK_QUEUE, host) },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    return (r.pollers ?? []).length > 0 ? 'polling' : 'none';
  } catch {
    return 'unknown';
  }
}

async function viewOf(r: HostRecord, docker: Docker, client?: Client): Promise<HostView> {
  const base = { name: r.name, docker: r.docker, address: r.address ?? null, zone: r.zone ?? null, worker: await workerOf(client, r.name) };
  try {
    const { members } = await Promise.race([
      new LocalEngine(r.name, docker).containers(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), PING_TIMEOUT_MS).unref()),
    ]);
    const byCluster: Record<string, number> = {};
    for (const m of members) byCluster[m.cluster] = (byCluster[m.cluster] ?? 0) + 1;
    return { ...base, state: 'up', members: byCluster };
  } catch {
    return { ...base, state: 'down', members: {} };
  }
}

export async function hostViews(): Promise<HostView[]> {
  const local: HostRecord = { name: LOCAL_HOST, docker: dockerAddress() };
  const added = readHosts(resolvePaths());
  const temporalConnection = await connectTemporal().catch(() => undefined);
  try {
    const client = temporalConnection?.client;
    return await Promise.all([viewOf(local, new Docker(), client), ...added.map((h) => viewOf(h, engineOf(h), client))]);
  } finally {
    await temporalConnection?.connection.close();
  }
}

export async function hostAddCommand(name: string, o: { docker: string; address?: string; zone?: string }): Promise<void> {
  const paths = resolvePaths();
  const r: HostRecord = { name, docker: o.docker, ...(o.address ? { address: o.address } : {}), ...(o.zone ? { zone: o.zone } : {}) };
  const problem = hostRecordProblem(r, readHosts(paths));
  if (problem) throw new UsageError(problem);
  try {
    await engineOf(r).ping();
  } catch (err) {
    throw new UsageError(`cannot reach Docker at ${r.docker} (${(err as Error).message}): is the host's engine running?`);
  }
  await addHost(paths, r);
  console.log(`host ${name} added (${r.docker}${r.address ? `, address ${r.address}` : ''}${r.zone ? `, zone ${r.zone}` : ''})`);
}

export async function hostListCommand(o: { json: boolean }): Promise<void> {
  const views = await hostViews();
  if (o.json) {
    console.log(JSON.stringify(views, null, 2));
    return;
  }
  const t = table(['host', 'address', 'zone', 'state', 'worker', 'members', 'docker']);
  for (const v of views) {
    const members = Object.entries(v.members).map(([c, n]) => `${c}: ${n}`).join(', ') || '-';
    t.push([v.name, v.address ?? '-', v.zone ?? '-', v.state, v.worker, members, v.docker]);
  }
  console.log(t.toString());
}

export async function hostRemoveCommand(name: string, o: { force: boolean }): Promise<void> {
  if (name === LOCAL_HOST) throw new UsageError(`host ${LOCAL_HOST} is this machine's own engine; it cannot be removed`);
  const paths = resolvePaths();
  const r = readHosts(paths).find((h) => h.name === name);
  if (!r) throw new UsageError(`no host named ${name} (\`dbaas host list\`)`);
  const v = await viewOf(r, engineOf(r));
  if (v.state === 'down' && !o.force) throw new UsageError(`host ${name} does not answer, so whether it still runs members is unknown; --force forgets it anyway`);
  const clusters = Object.entries(v.members);
  if (clusters.length > 0) {
    throw new UsageError(`host ${name} runs members of ${clusters.map(([c, n]) => `${c} (${n})`).join(', ')}; move or delete them first`);
  }
  await removeHost(paths, name);
  console.log(`host ${name} removed`);
}

/** Sessions on a Postgres member that leaves the host get this long to end (as `replica remove`). */
const DRAIN_TIMEOUT_MS = 30_000;

export async function hostDrainCommand(name: string): Promise<void> {
  if (name === LOCAL_HOST) throw new UsageError(`host ${LOCAL_HOST} is this machine's own engine; only added hosts are drained`);
  const paths = resolvePaths();
  const r = readHosts(paths).find((h) => h.name === name);
  if (!r) throw new UsageError(`no host named ${name} (\`dbaas host list\`)`);
  const v = await viewOf(r, engineOf(r));
  if (v.state === 'down') {
    throw new UsageError(`host ${name} does not answer: a drain moves members off a host that still runs them; the cluster watch re-creates a lost host's members after --replace-after`);
  }
  const { client, connection } = await connectTemporal();
  try {
    const id = hostWorkflowIds.drain(name);
    let handle: WorkflowHandle<typeof drainHost> = client.workflow.getHandle(id);
    try {
      handle = await client.workflow.start<typeof drainHost>('drainHost', { workflowId: id, taskQueue: TASK_QUEUE, args: [{ host: name, drainTimeoutMs: DRAIN_TIMEOUT_MS }] });
      console.log(`draining host ${name}: workflow ${id}`);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      console.log(`host ${name} is being drained; following workflow ${id}`);
    }
    const result = await follow<DrainHostResult>(handle, `host drain ${name}`);
    for (const c of result.clusters) {
      const moves = c.moves.map((m) => `${m.from} → ${m.to} on ${m.host}`).join(', ');
      console.log(`${c.cluster}: ${moves || 'no member moved'}${c.switchover ? `; leader ${c.switchover.from} → ${c.switchover.to}` : ''}${c.frontDoorRemoved ? `; front door removed from ${name}` : ''}`);
    }
    console.log(`host ${name} drained: it runs no member (\`dbaas host remove ${name}\` forgets it)`);
  } finally {
    await connection.close();
  }
}
