/** Backup schedules on Temporal Schedules: one per cluster and backup type, with deterministic ids. */
import { BACKUP_TYPES, type BackupType } from './backup';

export const scheduleIds = {
  backup: (cluster: string, type: BackupType): string => `backup-schedule:${cluster}:${type}`,
  /** Workflows a schedule starts: Temporal appends the scheduled time to this id. */
  backupWorkflowPrefix: (cluster: string, type: BackupType): string => `backup:${cluster}:scheduled-${type}`,
  all: (cluster: string): string[] => BACKUP_TYPES.map((t) => scheduleIds.backup(cluster, t)),
};

export interface BackupScheduleView {
  id: string;
  cluster: string;
  type: BackupType;
  cron: string;
  paused: boolean;
  /** Each backup is followed by a restore drill. */
  verifyAfter: boolean;
  note?: string;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; workflowId: string }[];
}
