/**
 * The upgrades' own backups, through the backup path (pgBackRest on the leader's host, the new
 * backup found by difference from the labels listed before it): the way back taken before an
 * upgrade's point of no return (in place: before pg_upgrade --link; blue/green: before the
 * cutover), and the new major's first full backup.
 */
import { patched } from '@temporalio/workflow';
import type { BackupSummary, BackupType } from '../../common/backup';
import type { PostgresVersion } from '../../common/postgres-version';
import { quick } from '../activity-options';
import { onLeaderHost } from '../leader-host';

/** Runs from before s24 cut over without a backup of the old major first. */
const BACKUP_BEFORE_CUTOVER_PATCH = 'backup-before-cutover';

export const backupBeforeStep = (from: PostgresVersion, type: BackupType): string =>
  `backup on PostgreSQL ${from} (${type === 'incr' ? 'incremental' : type}), the way back`;

export interface UpgradeBackup {
  cluster: string;
  type: BackupType;
  /** The labels listed before it; unset: read now (a retried step finds its own backup by difference). */
  before?: string[];
  /**
   * false: the backup expires nothing (pgBackRest's --no-expire-auto). A blue/green run's own full
   * backups (on the new major at the cutover, on the old one after a rollback) would otherwise
   * count against the retention and expire the backup taken before the cutover; the next backup
   * after the run applies the retention as usual.
   */
  expire?: boolean;
}

export async function upgradeBackup(b: UpgradeBackup): Promise<BackupSummary> {
  const { cluster, type } = b;
  const before = b.before ?? (await quick.backupStatus(cluster)).backups.map((x) => x.label);
  return onLeaderHost(cluster, (on) => on.longRunning.runBackup({ cluster, type, before, ...(b.expire === false ? { expire: false } : {}) }));
}

/** What a blue/green run does before its cutover: a full backup of the serving generation, or nothing and why. */
export type BackupBeforeCutover = { step: string; skipped?: string };

/**
 * The step before the cutover, once the run knows whether the cluster backs up: null for a run
 * from before it took one (its history has none, and must replay so).
 */
export function planBackupBeforeCutover(o: { cluster: string; from: PostgresVersion; backups: boolean; wanted: boolean }): BackupBeforeCutover | null {
  if (!patched(BACKUP_BEFORE_CUTOVER_PATCH)) return null;
  if (!o.backups) return { step: `no backup before the cutover: ${o.cluster} has no backups (\`dbaas backup enable ${o.cluster}\` adds them)`, skipped: 'the cluster has no backups' };
  if (!o.wanted) return { step: 'no backup before the cutover (--no-backup)', skipped: 'upgrade --no-backup' };
  return { step: backupBeforeStep(o.from, 'full') };
}
