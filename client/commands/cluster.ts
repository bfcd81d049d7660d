/** `dbaas cluster create|list|status|delete`: start workflows, follow them, print. */
import { table } from '../table';
import { workflowIds } from '../../common/workflow-ids';
import { resolvePaths } from '../../common/paths';
import { SpecError, validateSpec, type ConnectionInfo, type CreateClusterInput } from '../../common/spec';
import type { createCluster, deleteCluster, DeleteClusterResult } from '../../workflows';
import { dcsSettingsView, readDcsConfig, type DcsSettingsView } from '../../activities/dcs-config';
import { clusterIsLive, clusterNames, clusterStatus, type ClusterStatus } from '../cluster-info';
import { connectDocker, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { confirmByName } from '../confirm';
import { readLease } from '../lease';
import type { LeaseView } from '../../common/lease';
import { follow, startOrAttach } from '../workflow-run';


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

export async function deleteClusterCommand(name: string, o: { keepData: boolean; yes: boolean }): Promise<void> {
  const { client, connection } = await connectTemporal();
  try {
    const docker = await connectDocker();
    const handle = await startOrAttach<typeof deleteCluster>(client, 'deleteCluster', workflowIds.deleteCluster(name), name, [{ name, keepData: o.keepData }], { running: `cluster ${name} is being deleted`, starting: `deleting cluster ${name}` }, async () => {
      if (!(await clusterNames(docker)).includes(name)) throw new UsageError(`no cluster named ${name}`);
      await confirmByName(o.keepData ? 'delete (keeping its data) cluster' : 'delete cluster', name, o.yes);
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
  const lease = await operationsOn(name);
  if (o.json) {
    console.log(JSON.stringify({ ...s, settings, operation: lease?.operation ?? null, queued: lease?.queued ?? [] }, null, 2));
    return;
  }
  printStatus(s, settings, lease);
}

/** The operation running on the cluster and the queue; null when Temporal or a worker does not answer (status never waits for them). */
async function operationsOn(cluster: string): Promise<LeaseView | null> {
  let conn: Awaited<ReturnType<typeof connectTemporal>> | undefined;
  try {
    conn = await connectTemporal();
    return await readLease(conn.client.workflow, cluster);
  } catch {
    return null;
  } finally {
    await conn?.connection.close();
  }
}

function describeLease(lease: LeaseView | null): string {
  if (!lease) return 'operation: unknown (Temporal or its worker does not answer)';
  const op = lease.operation ? `operation: ${lease.operation.operation} (${lease.operation.workflowId}) since ${lease.operation.since}` : 'operation: none';
  return lease.queued.length === 0 ? op : `${op}   queued: ${lease.queued.map((q) => `${q.operation} (${q.workflowId})`).join(', ')}`;
}

function printStatus(s: ClusterStatus, settings: DcsSettingsView | null, lease: LeaseView | null): void {
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
  console.log(describeLease(lease));
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

