/**
 * `dbaas upgrade status NAME [--json]`: the cluster's newest upgrade run (in place or blue/green),
 * its state, majors, phase (the step it is at, of its plan), whether it is past the point of no
 * return, and for blue/green the replication lag. Read from the workflows' own queries.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PostgresVersion } from '../../common/postgres-version';
import { PROGRESS_QUERY, type Progress } from '../../common/progress';
import { UPGRADE_STATUS_QUERY, backupBeforeLine, upgradePhase, type UpgradeMethodName, type UpgradePhase, type UpgradeStatus } from '../../common/upgrade-status';
import { upgradeWorkflowIds } from '../../common/workflow-ids';
import { resolvePaths } from '../../common/paths';
import { clusterStatus, requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';

export interface UpgradeStatusView {
  cluster: string;
  /** The major the cluster runs now. */
  version: PostgresVersion | null;
  /** The newest upgrade run, or null when none ran (or its history is gone). */
  upgrade: null | {
    workflowId: string;
    method: UpgradeMethodName;
    /** Temporal's status of the run: RUNNING, COMPLETED, FAILED, TERMINATED, … */
    state: string;
    startedAt: string;
    closedAt: string | null;
    from: PostgresVersion | null;
    to: PostgresVersion | null;
    phase: UpgradePhase | null;
    pastPointOfNoReturn: boolean | null;
    replicationLagBytes: number | null;
    /** Blue/green: the new major serves (null: not a blue/green run, or unknown). */
    cutOver: boolean | null;
    writePauseMs: number | null;
    /** Blue/green: waiting for `upgrade finish` or `upgrade rollback`. */
    awaitingDecision: boolean | null;
    /** Blue/green: why the new major has no full backup yet after the cutover (`finish` tries again); null when none failed. */
    backupProblem: string | null;
    /** Blue/green: the last finish or rollback failed before it changed what serves; null when none did. */
    decisionProblem: string | null;
    /** Blue/green: the old major's full backup taken before the cutover, or why none was; null when unknown (no answer, or a run from before it took one). */
    backupBefore: NonNullable<UpgradeStatus['backupBefore']> | null;
  };
}

const METHODS: { method: UpgradeMethodName; id: (c: string) => string }[] = [
  { method: 'in-place', id: upgradeWorkflowIds.inPlace },
  { method: 'blue-green', id: upgradeWorkflowIds.blueGreen },
];

/**
 * A query of a closed run replays its history on a worker: without one it would wait, so it gives
 * up. Right after a worker died, a query first waits on that worker's sticky queue (about 10 s).
 */
const QUERY_MS = 15_000;

async function queryOrNull<T>(handle: WorkflowHandle, name: string): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => { timer = setTimeout(() => r(null), QUERY_MS); });
  try {
    return await Promise.race([handle.query<T>(name).catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function newestRun(client: Client, cluster: string): Promise<{ handle: WorkflowHandle; method: UpgradeMethodName; state: string; startedAt: Date; closedAt: Date | null } | null> {
  const runs = await Promise.all(METHODS.map(async ({ method, id }) => {
    const handle = client.workflow.getHandle(id(cluster));
    try {
      const d = await handle.describe();
      return { handle, method, state: d.status.name, startedAt: d.startTime, closedAt: d.closeTime ?? null };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null; // never ran, or its history is past retention
      throw err;
    }
  }));
  return runs.filter((r) => r !== null).sort((a, b) => b!.startedAt.getTime() - a!.startedAt.getTime())[0] ?? null;
}

export async function upgradeStatusView(client: Client, cluster: string, version: PostgresVersion | null): Promise<UpgradeStatusView> {
  const run = await newestRun(client, cluster);
  if (!run) return { cluster, version, upgrade: null };
  const [progress, status] = await Promise.all([queryOrNull<Progress>(run.handle, PROGRESS_QUERY), queryOrNull<UpgradeStatus>(run.handle, UPGRADE_STATUS_QUERY)]);
  return {
    cluster,
    version,
    upgrade: {
      workflowId: run.handle.workflowId,
      method: run.method,
      state: run.state,
      startedAt: run.startedAt.toISOString(),
      closedAt: run.closedAt?.toISOString() ?? null,
      from: status?.from ?? null,
      to: status?.to ?? null,
      phase: progress ? upgradePhase(progress) : null,
      pastPointOfNoReturn: status?.pastPointOfNoReturn ?? null,
      replicationLagBytes: status?.replicationLagBytes ?? null,
      cutOver: status?.cutOver ?? null,
      writePauseMs: status?.writePauseMs ?? null,
      awaitingDecision: status?.awaitingDecision ?? null,
      backupProblem: status?.backupProblem ?? null,
      decisionProblem: status?.decisionProblem ?? null,
      backupBefore: status?.backupBefore ?? null,
    },
  };
}

export function formatUpgradeStatus(v: UpgradeStatusView): string {
  const now = `runs PostgreSQL ${v.version ?? 'unknown'}`;
  const u = v.upgrade;
  if (!u) return `${v.cluster}: no upgrade has run; it ${now}`;
  const majors = u.from !== null && u.to !== null ? `PostgreSQL ${u.from} → ${u.to}` : `to PostgreSQL ${u.to ?? '?'}`;
  const when = u.closedAt ? `started ${u.startedAt}, ended ${u.closedAt}` : `started ${u.startedAt}`;
  const lines = [`${v.cluster}: ${u.method} upgrade ${majors}: ${u.state.toLowerCase()} (${when}); the cluster ${now}`];
  if (u.phase) lines.push(`  phase ${u.phase.index}/${u.phase.of}: ${u.phase.step} (${u.phase.state})${u.phase.detail ? `: ${u.phase.detail}` : ''}`);
  else lines.push('  phase: unknown (no worker answered; `dbaas dev up` starts one)');
  if (u.method === 'in-place' && u.pastPointOfNoReturn !== null) {
    lines.push(`  past the point of no return (pg_upgrade --link): ${u.pastPointOfNoReturn ? `yes; the way back is a restore of the backup taken before it` : 'no'}`);
  }
  if (u.method === 'blue-green') {
    lines.push(`  replication lag: ${u.replicationLagBytes === null ? 'none yet (no subscription)' : `${u.replicationLagBytes} bytes`}`);
    if (u.backupBefore) lines.push(`  ${backupBeforeLine(u.backupBefore, u.from)}`);
    if (u.cutOver) lines.push(`  cut over: PostgreSQL ${u.to} serves${u.writePauseMs !== null ? `; writes were paused ${(u.writePauseMs / 1000).toFixed(1)} s` : ''}`);
    if (u.backupProblem) lines.push(`  backups: none on PostgreSQL ${u.to} yet (\`upgrade finish\` tries again): ${u.backupProblem}`);
    if (u.decisionProblem) lines.push(`  ${u.decisionProblem}; both generations stand`);
    if (u.awaitingDecision) lines.push(`  waiting for \`dbaas upgrade finish ${v.cluster}\` or \`dbaas upgrade rollback ${v.cluster} --discard-writes\``);
  }
  lines.push(`  workflow ${u.workflowId}`);
  return lines.join('\n');
}

export async function upgradeStatusCommand(cluster: string, o: { json: boolean }): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const { version } = await clusterStatus(inv, resolvePaths(), cluster);
  const { client, connection } = await connectTemporal();
  try {
    const v = await upgradeStatusView(client, cluster, version);
    console.log(o.json ? JSON.stringify(v, null, 2) : formatUpgradeStatus(v));
  } finally {
    await connection.close();
  }
}
