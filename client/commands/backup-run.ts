/**
 * `dbaas backup run`: one backup through the Backup workflow. Its own module, so the command loads
 * only what it uses (not the repository, S3 and schedule code of the other backup commands).
 */
import { BACKUP_MADE_QUERY, RECORD_ROW_COUNTS_STEP, type BackupInput, type BackupSummary, type BackupType } from '../../common/backup';
import type { backup } from '../../workflows';
import { backupWorkflowIds } from '../../common/workflow-ids';
import { requireLiveCluster } from '../cluster-info';
import { connectReadInventory } from '../connections';
import { UsageError } from '../errors';
import { followRun, followRunUntil, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';
import { formatSeconds } from '../watch';

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function describeBackup(b: BackupSummary): string {
  return `${b.label} (${b.type}): ${mb(b.databaseBytes)} of data, ${mb(b.repositoryBytes)} added to the repository, ` +
    `${b.durationS} s, WAL ${b.walStart} … ${b.walStop}`;
}

export interface RunOptions {
  type: BackupType;
  fromStandby: boolean;
  fromPrimary: boolean;
  retentionFull?: number;
  retentionDiff?: number;
}

export async function backupRunCommand(cluster: string, o: RunOptions): Promise<void> {
  if (o.fromStandby && o.fromPrimary) throw new UsageError('--from-standby and --from-primary contradict each other');
  // Docker's answer and Temporal's connection at once (neither waits for the other).
  const gatewayReady = connectGateway();
  gatewayReady.catch(() => undefined); // a refusal below wins; its connection is closed there
  try {
    await requireLiveCluster(await connectReadInventory(), cluster);
  } catch (err) {
    await gatewayReady.then((g) => g.close(), () => undefined);
    throw err;
  }
  const retention = o.retentionFull !== undefined || o.retentionDiff !== undefined ? { full: o.retentionFull, diff: o.retentionDiff } : undefined;
  // One workflow per request: a second `backup run` is a second backup, on purpose.
  const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${o.type}`;
  const gateway = await gatewayReady;
  try {
    const input: BackupInput = { cluster, type: o.type, fromStandby: o.fromStandby, ...(o.fromPrimary ? { fromPrimary: true } : {}), ...(retention ? { retention } : {}) };
    const { run } = await startOrAttachRun<typeof backup>(
      gateway, 'backup', backupWorkflowIds.backup(cluster, id), cluster, [input],
      { running: `a backup of ${cluster} is running`, starting: `backing up ${cluster} (${o.type})` },
      async () => undefined,
    );
    // The workflow records row counts for restore drills after the backup; the backup is made
    // (and listed) before them, so the command ends there. A drill waits for the lease meanwhile.
    const what = `backup of ${cluster}`;
    const r = await followRunUntil<BackupSummary>(gateway, run, what, RECORD_ROW_COUNTS_STEP);
    const made = r.ended ? r.value : await run.query<BackupSummary | null>(BACKUP_MADE_QUERY).catch(() => null);
    const b = made ?? (await followRun<BackupSummary>(gateway, run, what, new Set([RECORD_ROW_COUNTS_STEP])));
    const early = !r.ended && made !== null;
    if (early) console.log(`done in ${formatSeconds(r.followedMs)}`);
    console.log(`backup ${describeBackup(b)}`);
    if (early) console.log(`row counts for restore drills: being recorded by the workflow (\`dbaas backup verify ${cluster}\` waits for them)`);
  } finally {
    await gateway.close();
  }
}

