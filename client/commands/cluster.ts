/** `dbaas cluster create|list|status|delete`: start workflows, follow them, print. */
import { table } from '../table';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Workflow } from '@temporalio/common';
import { clusterNameKey } from '../../common/search-attributes';
import { TASK_QUEUE, workflowIds } from '../../common/names';
import { resolvePaths } from '../../common/paths';
import { temporalConfig } from '../../common/temporal-config';
import { SpecError, validateSpec, type ConnectionInfo, type CreateClusterInput } from '../../common/spec';
import type { createCluster, deleteCluster, DeleteClusterResult } from '../../workflows';
import { dcsSettingsView, readDcsConfig, type DcsSettingsView } from '../../activities/dcs-config';
import { clusterIsLive, clusterNames, clusterStatus, type ClusterStatus } from '../cluster-info';
import { connectDocker, connectTemporal } from '../connections';
import { OperationError, UsageError } from '../errors';
import { watchWorkflow } from '../watch';


function failureMessage(err: unknown): string {
  // Walk the cause chain to the innermost message: that is the step's own error.
  let e: unknown = err;
  const parts: string[] = [];
  while (e instanceof Error) {
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts[parts.length - 1] ?? String(err);
}

async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch {
    return false;
  }
}

/** The innermost ApplicationFailure type, e.g. MemberRefused. */
function failureType(err: unknown): string | undefined {
  let e: unknown = err;
  let type: string | undefined;
  while (e instanceof Error) {
    type = (e as { type?: string }).type ?? type;
    e = (e as { cause?: unknown }).cause;
  }
  return type;
}

/** Refusals decided inside a workflow are bad input for the CLI (exit 2). */
const REFUSAL_TYPES = new Set(['MemberRefused', 'ClusterExists', 'ClusterNotFound', 'SpecError']);

export async function follow<T>(handle: WorkflowHandle, what: string): Promise<T> {
  try {
    return await watchWorkflow<T>(handle);
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const message = `${what} failed: ${failureMessage(err)}`;
      throw REFUSAL_TYPES.has(failureType(err) ?? '') ? new UsageError(message) : new OperationError(message);
    }
    throw err;
  }
}

/** The task queue has no poller: the workflow would wait silently for a worker. */
async function warnIfNoWorker(client: Client): Promise<void> {
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: TASK_QUEUE },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((r.pollers ?? []).length === 0) {
      console.error(`warning: no worker polls task queue "${TASK_QUEUE}"; the workflow runs once one does (\`npx dbaas dev up\` or \`npx dbaas worker\`)`);
    }
  } catch {
    // Best effort: the workflow itself is what matters.
  }
}

/**
 * Start the workflow, or attach to the run already going under the same id (a second
 * `create` or `delete` of the same cluster follows the first instead of starting another).
 * `precheck` runs only when nothing is running; it throws to refuse.
 */
export interface StartMessages {
  /** e.g. "cluster orders is being created" */
  running: string;
  /** e.g. "creating cluster orders" */
  starting: string;
}

export async function startOrAttach<T extends Workflow>(
  client: Client, workflowType: string, id: string, cluster: string, args: Parameters<T>, messages: StartMessages, precheck: () => Promise<void>,
): Promise<WorkflowHandle<T>> {
  const handle: WorkflowHandle<T> = client.workflow.getHandle(id);
  if (await isRunning(handle)) {
    console.log(`${messages.running}; following workflow ${id}`);
    return handle;
  }
  await precheck();
  await warnIfNoWorker(client);
  try {
    const options = {
      workflowId: id,
      taskQueue: TASK_QUEUE,
      args,
      typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
    } as unknown as WorkflowStartOptions<T>; // the SDK's conditional args type does not narrow for a generic T
    const started = await client.workflow.start<T>(workflowType, options);
    console.log(`${messages.starting}: workflow ${uiLink(id)}`);
    return started;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    console.log(`${messages.running}; following workflow ${id}`);
    return handle;
  }
}

function uiLink(workflowId: string): string {
  const cfg = temporalConfig();
  return cfg.ui ? `${cfg.ui}/namespaces/${cfg.namespace}/workflows/${encodeURIComponent(workflowId)}` : workflowId;
}

export function printConnectionInfo(info: ConnectionInfo): void {
  const uri = (port: number): string => `postgresql://${info.user}@${info.host}:${port}/${info.database}`;
  console.log(`cluster ${info.cluster}: leader ${info.leader}, members ${info.members.join(', ')}`);
  console.log(`  read-write: ${uri(info.ports.rw)}`);
  console.log(`  read-only:  ${uri(info.ports.ro)}`);
  console.log(`  pooled:     ${uri(info.ports.pooledRw)} (rw), ${uri(info.ports.pooledRo)} (ro), PgBouncer transaction pooling`);
  console.log(`  stats:      ${info.statsUrl} (Prometheus: ${info.statsUrl}metrics)`);
  console.log(`  password:   \`npx dbaas connect ${info.cluster}\` prints a URI with credentials`);
}

export interface CreateOptions {
  replicas: number;
  sync: boolean;
  /** synchronous_mode_strict; implies sync. */
  syncStrict?: boolean;
  profile: CreateClusterInput['profile'];
  etcd: 1 | 3;
  detach: boolean;
  keepOnFailure: boolean;
  /** false with --no-backups. */
  backups: boolean;
}

export async function createClusterCommand(name: string, o: CreateOptions): Promise<void> {
  const input: CreateClusterInput = {
    name, replicas: o.replicas, sync: o.sync || (o.syncStrict ?? false), syncStrict: o.syncStrict ?? false, profile: o.profile, etcdMembers: o.etcd, keepOnFailure: o.keepOnFailure,
    ...(o.backups === false ? { backups: false } : {}),
  };
  try {
    validateSpec(input);
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(err.message);
    throw err;
  }
  const { client, connection } = await connectTemporal();
  try {
    const docker = await connectDocker();
    const handle = await startOrAttach<typeof createCluster>(client, 'createCluster', workflowIds.createCluster(name), name, [input], { running: `cluster ${name} is being created`, starting: `creating cluster ${name}` }, async () => {
      if (await clusterIsLive(docker, name)) throw new UsageError(`cluster ${name} already exists`);
    });
    if (o.detach) return;
    if (process.stdout.isTTY) console.log('(Ctrl-C stops following; the workflow carries on)');
    const info = await follow<ConnectionInfo>(handle, `create ${name}`);
    printConnectionInfo(info);
  } finally {
    await connection.close();
  }
}

export async function deleteClusterCommand(name: string, o: { keepData: boolean }): Promise<void> {
  const { client, connection } = await connectTemporal();
  try {
    const docker = await connectDocker();
    const handle = await startOrAttach<typeof deleteCluster>(client, 'deleteCluster', workflowIds.deleteCluster(name), name, [{ name, keepData: o.keepData }], { running: `cluster ${name} is being deleted`, starting: `deleting cluster ${name}` }, async () => {
      if (!(await clusterNames(docker)).includes(name)) throw new UsageError(`no cluster named ${name}`);
    });
    const r = await follow<DeleteClusterResult>(handle, `delete ${name}`);
    console.log(`cluster ${name} deleted: ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes removed` +
      (o.keepData ? `; ${r.keptVolumes} data volumes kept` : ''));
  } finally {
    await connection.close();
  }
}

export async function statusCommand(name: string, o: { json: boolean }): Promise<void> {
  const docker = await connectDocker();
  if (!(await clusterNames(docker)).includes(name)) throw new UsageError(`no cluster named ${name}`);
  const s = await clusterStatus(docker, resolvePaths(), name);
  // Profile and sync mode as they are now: Patroni's DCS config, not the creation label.
  const dcs = await readDcsConfig(docker, name, [...(s.leader ? [s.leader] : []), ...s.members.map((m) => m.name)]);
  const settings = dcs ? dcsSettingsView(dcs.config, dcs.member) : null;
  if (o.json) {
    console.log(JSON.stringify({ ...s, settings }, null, 2));
    return;
  }
  printStatus(s, settings);
}

function printStatus(s: ClusterStatus, settings: DcsSettingsView | null): void {
  console.log(`cluster ${s.name}   leader: ${s.leader ?? 'none'}`);
  if (settings) {
    const standby = s.members.find((m) => m.role === 'sync_standby')?.name;
    console.log(`profile: ${settings.profile} (ttl ${settings.ttl}, loop_wait ${settings.loopWait}, retry_timeout ${settings.retryTimeout})   ` +
      `sync: ${settings.sync}${settings.sync === 'off' ? '' : ` (synchronous standby: ${standby ?? 'none'})`}`);
  } else {
    console.log('profile, sync: unknown (no Patroni API answers)');
  }
  const t = table(['member', 'role', 'state', 'lag', 'timeline', 'port', 'container', 'created']);
  for (const m of s.members) {
    t.push([m.name + (m.nofailover ? ' (read-only)' : ''), m.role, m.state, m.lag ?? '', m.timeline ?? '', m.port ?? '', m.container.state, m.container.created]);
  }
  console.log(t.toString());
  console.log(`etcd: ${s.etcd.map((e) => `${e.name} ${e.state}`).join(', ') || 'none'}   haproxy: ${s.haproxy?.state ?? 'none'}   ` +
    `backups: ${{ on: `on (\`dbaas backup list ${s.name}\`)`, off: `off (\`dbaas backup enable ${s.name}\` adds them)`, partial: `partly enabled (run \`dbaas backup enable ${s.name}\` again)` }[s.backups]}`);
  if (s.endpoints) {
    console.log(`rw ${s.endpoints.rw.host}:${s.endpoints.rw.port}   ro ${s.endpoints.ro.host}:${s.endpoints.ro.port}   stats ${s.endpoints.stats.url}`);
  }
}

export async function listCommand(o: { json: boolean }): Promise<void> {
  const docker = await connectDocker();
  const paths = resolvePaths();
  const all = await Promise.all((await clusterNames(docker)).map((n) => clusterStatus(docker, paths, n)));
  if (o.json) {
    console.log(JSON.stringify(all.map((s) => ({
      name: s.name, leader: s.leader, members: s.members.length,
      running: s.members.filter((m) => m.container.state === 'running').length,
      endpoints: s.endpoints,
    })), null, 2));
    return;
  }
  if (all.length === 0) {
    console.log('no clusters');
    return;
  }
  const t = table(['cluster', 'leader', 'members', 'rw', 'ro', 'created']);
  for (const s of all) {
    const running = s.members.filter((m) => m.container.state === 'running').length;
    t.push([s.name, s.leader ?? 'none', `${running}/${s.members.length} running`, s.endpoints?.rw.port ?? '', s.endpoints?.ro.port ?? '', s.members[0]?.container.created ?? '']);
  }
  console.log(t.toString());
}

