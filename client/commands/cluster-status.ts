/**
 * `dbaas cluster status NAME [--json]`: members, roles, lag, settings, disks, the last backup, the
 * operation running, endpoints. Reads only, through the read-only inventory (no dockerode) and
 * Patroni's API; the operation lease over Temporal's HTTP API, or with Temporal's client in a
 * worker thread beside those reads (test/unit/cli-read-load.test.ts holds it to that).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { resolvePaths } from '../../common/paths';
import { dcsSettingsView, type DcsSettingsView } from '../../common/spec';
import { leaseWorkflowId, type LeaseView } from '../../common/lease';
import { TASK_QUEUE } from '../../common/task-queues';
import { temporalConfig } from '../../common/temporal-config';
import { HttpApiUnreachable, readLeaseOverHttp } from '../lease-http';
import { describeSize, hasLimits } from '../../common/sizes';
import { describeVolumeUse } from '../../common/volume-use';
import { describeAge } from '../../common/backup-age';
import { readDcsConfig } from '../../activities/patroni-api';
import { clusterStatus, requireLiveCluster, type ClusterStatus } from '../cluster-info';
import { connectReadInventory } from '../connections';
import { quickStanzaSummary, readStatusExtras, type StatusExtras } from '../status-extras';
import { table } from '../table';
import { metricsNotRunningLine } from '../../common/metrics-state';

export async function statusCommand(name: string, o: { json: boolean }): Promise<void> {
  // Every read that does not need another's answer starts at once: Temporal (it may not answer) beside Docker and Patroni.
  const operations = operationsOn(name);
  try {
    await printStatusOf(name, o, operations.lease);
  } finally {
    // Gone once it has answered; stopped when a refusal or a failed read ends the command first.
    void operations.stop();
  }
}

async function printStatusOf(name: string, o: { json: boolean }, operations: Promise<LeaseView | null>): Promise<void> {
  const inv = await connectReadInventory();
  const paths = resolvePaths();
  const status = clusterStatus(inv, paths, name);
  // A name that is not a live cluster is refused with its own line, whatever the status read met.
  status.catch(() => undefined);
  const backups = quickStanzaSummary(inv, paths, name);
  await requireLiveCluster(inv, name);
  const s = await status;
  // Profile and sync mode as they are now: Patroni's DCS config, not the creation label.
  const [dcs, lease, extras] = await Promise.all([
    readDcsConfig(inv, name, [...(s.leader ? [s.leader] : []), ...s.members.map((m) => m.name)]),
    operations,
    readStatusExtras(inv, paths, s, backups),
  ]);
  const settings = dcs ? dcsSettingsView(dcs.config, dcs.member) : null;
  if (o.json) {
    const members = s.members.map((m) => ({ ...m, disk: extras.disks.get(m.name) ?? null }));
    console.log(JSON.stringify({ ...s, members, lastBackup: extras.lastBackup, lastBackupProblem: extras.lastBackupProblem, settings, operation: lease?.operation ?? null, queued: lease?.queued ?? [] }, null, 2));
    return;
  }
  printStatus(s, settings, lease, extras);
}

/**
 * The operation running on the cluster and the queue; null when Temporal or a worker does not
 * answer (status never waits for them). Over Temporal's HTTP API when there is one (no gRPC to
 * load: ../lease-http.ts), else through Temporal's client in a worker thread
 * (../operations-worker.ts), which loads on another core beside the Docker and Patroni reads.
 */
function operationsOn(cluster: string): { lease: Promise<LeaseView | null>; stop: () => Promise<unknown> } {
  const cfg = temporalConfig();
  if (!cfg.httpAddress) return operationsInWorkerThread(cluster);
  let fallback: ReturnType<typeof operationsInWorkerThread> | undefined;
  const lease = readLeaseOverHttp(cfg.httpAddress, cfg.namespace, leaseWorkflowId(cluster, TASK_QUEUE, TASK_QUEUE)).catch((err: unknown) => {
    // A dev server started before it listened on a fixed HTTP port (or another server's address).
    if (!(err instanceof HttpApiUnreachable)) return null;
    fallback = operationsInWorkerThread(cluster);
    return fallback.lease;
  });
  return { lease, stop: async () => fallback?.stop() };
}

function operationsInWorkerThread(cluster: string): { lease: Promise<LeaseView | null>; stop: () => Promise<number> } {
  const reader = new Worker(path.join(__dirname, '..', 'operations-worker.js'), { workerData: { cluster } });
  const lease = new Promise<LeaseView | null>((resolve) => {
    reader.once('message', (view: LeaseView | null) => resolve(view));
    reader.once('error', () => resolve(null));
    reader.once('exit', () => resolve(null));
  });
  return { lease, stop: () => reader.terminate() };
}

function describeLease(lease: LeaseView | null): string {
  if (!lease) return 'operation: unknown (Temporal or its worker does not answer)';
  const op = lease.operation ? `operation: ${lease.operation.operation} (${lease.operation.workflowId}) since ${lease.operation.since}` : 'operation: none';
  return lease.queued.length === 0 ? op : `${op}   queued: ${lease.queued.map((q) => `${q.operation} (${q.workflowId})`).join(', ')}`;
}

/** The backups line's tail: the last backup's age, or why it is not known. */
function describeLastBackup(e: StatusExtras): string {
  if (e.lastBackupProblem) return `, last backup unknown (${e.lastBackupProblem})`;
  if (!e.lastBackup) return ', no backup yet';
  return `, last ${describeAge(e.lastBackup.ageSeconds)} ago (${e.lastBackup.type} ${e.lastBackup.label})`;
}

function printStatus(s: ClusterStatus, settings: DcsSettingsView | null, lease: LeaseView | null, extras: StatusExtras): void {
  console.log(`cluster ${s.name}   PostgreSQL ${s.version ?? 'unknown'}   leader: ${s.leader ?? 'none'}`);
  if (settings) {
    const standby = s.members.find((m) => m.role === 'sync_standby')?.name;
    console.log(`profile: ${settings.profile} (ttl ${settings.ttl}, loop_wait ${settings.loopWait}, retry_timeout ${settings.retryTimeout})   ` +
      `sync: ${settings.sync}${settings.sync === 'off' ? '' : ` (synchronous standby: ${standby ?? 'none'})`}`);
  } else {
    console.log('profile, sync: unknown (no Patroni API answers)');
  }
  const other = s.members.filter((m) => describeSize(m.size ?? undefined) !== describeSize(s.size ?? undefined)).map((m) => `${m.name}: ${describeSize(m.size ?? undefined)}`);
  // Only for a cluster with a size (or members that differ from it: a resize that stopped half-way).
  if (hasLimits(s.size) || other.length > 0) console.log(`size per member: ${describeSize(s.size ?? undefined)}${other.length > 0 ? ` (but ${other.join(', ')}: run \`dbaas cluster resize ${s.name}\` again)` : ''}`);
  const t = table(['member', 'host', 'role', 'state', 'lag', 'timeline', 'disk', 'port', 'container', 'created']);
  for (const m of s.members) {
    t.push([m.name + (m.nofailover ? ' (read-only)' : ''), m.host, m.role, m.state, m.lag ?? '', m.timeline ?? '', describeVolumeUse(extras.disks.get(m.name) ?? null), m.port ?? '', m.container.state, m.container.created]);
  }
  console.log(t.toString());
  console.log(`etcd: ${s.etcd.map((e) => `${e.name} ${e.state}`).join(', ') || 'none'}   haproxy: ${s.haproxy?.state ?? 'none'}   ` +
    `backups: ${{ on: `on (\`dbaas backup list ${s.name}\`)`, off: `off (\`dbaas backup enable ${s.name}\` adds them)`, partial: `partly enabled (run \`dbaas backup enable ${s.name}\` again)` }[s.backups]}` +
    (s.backups === 'off' ? '' : describeLastBackup(extras)));
  console.log(s.metrics.running ? 'metrics: running (`dbaas dashboard`, Prometheus)' : metricsNotRunningLine(s.name, s.metrics.problems.join('; ')));
  console.log(describeLease(lease));
  if (s.unreachableHosts.length > 0) console.log(`host ${s.unreachableHosts.join(', ')} does not answer: its members are not shown`);
  if (s.endpoints) {
    console.log(`rw ${s.endpoints.rw.host}:${s.endpoints.rw.port}   ro ${s.endpoints.ro.host}:${s.endpoints.ro.port}   stats ${s.endpoints.stats.url}`);
    if (s.endpoints.hosts.length > 1) console.log(`front doors (HAProxy and poolers, same ports on each): ${s.endpoints.hosts.join(', ')}`);
  }
}
