/**
 * `dbaas backup run`: one backup through the Backup workflow. Its own module, so the command loads
 * only what it uses (not the repository, S3 and schedule code of the other backup commands).
 */
import { BACKUP_MADE_QUERY, RECORD_ROW_COUNTS_STEP, type BackupSummary, type BackupType } from '../../common/backup';
import { backupWorkflowIds } from '../../common/workflow-ids';
import type { backup } from '../../workflows';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { follow, followUntil, startOrAttach } from '../workflow-run';
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
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  if (o.fromStandby && o.fromPrimary) throw new UsageError('--from-standby and --from-primary contradict each other');
  const retention = o.retentionFull !== undefined || o.retentionDiff !== undefined ? { full: o.retentionFull, diff: o.retentionDiff } : undefined;
  // One workflow per request: a second `backup run` is a second backup, on purpose.
  const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${o.type}`;
  const { client, connection } = await connectTemporal();
  try {
    const handle = await startOrAttach<typeof backup>(
      client, 'backup', backupWorkflowIds.backup(cluster, id), cluster,
      [{ cluster, type: o.type, fromStandby: o.fromStandby, ...(o.fromPrimary ? { fromPrimary: true } : {}), ...(retention ? { retention } : {}) }],
      { running: `a backup of ${cluster} is running`, starting: `backing up ${cluster} (${o.type})` },
      async () => undefined,
    );
    // The workflow records row counts for restore drills after the backup; the backup is made
    // (and listed) before them, so the command ends there. A drill waits for the lease meanwhile.
    const r = await followUntil<BackupSummary>(handle, `backup of ${cluster}`, RECORD_ROW_COUNTS_STEP);
    const made = r.ended ? r.value : await handle.query<BackupSummary | null>(BACKUP_MADE_QUERY).catch(() => null);
    const b = made ?? (await follow<BackupSummary>(handle, `backup of ${cluster}`, new Set([RECORD_ROW_COUNTS_STEP])));
    const early = !r.ended && made !== null;
    if (early) console.log(`done in ${formatSeconds(r.followedMs)}`);
    console.log(`backup ${describeBackup(b)}`);
    if (early) console.log(`row counts for restore drills: being recorded by the workflow (\`dbaas backup verify ${cluster}\` waits for them)`);
  } finally {
    await connection.close();
  }
}

