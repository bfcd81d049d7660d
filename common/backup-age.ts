/** The cluster's last completed backup and how old it is, as `cluster status` shows it. Pure. */
import type { BackupSummary, BackupType } from './backup';

export interface LastBackup {
  label: string;
  type: BackupType;
  /** When it ended (ISO, UTC): a restore can reach this moment from it alone. */
  completedAt: string;
  ageSeconds: number;
}

/** The backup that ended last, leaving out those pgBackRest marks as having errors; null when there is none. */
export function lastBackup(backups: BackupSummary[], nowMs: number): LastBackup | null {
  const newest = backups.filter((b) => !b.error).reduce<BackupSummary | undefined>((a, b) => (a && Date.parse(a.stoppedAt) >= Date.parse(b.stoppedAt) ? a : b), undefined);
  if (!newest) return null;
  return { label: newest.label, type: newest.type, completedAt: newest.stoppedAt, ageSeconds: Math.max(0, Math.round((nowMs - Date.parse(newest.stoppedAt)) / 1000)) };
}

/** An age in its two largest units: "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function describeAge(seconds: number): string {
  const parts: [number, string][] = [[Math.floor(seconds / 86400), 'd'], [Math.floor(seconds / 3600) % 24, 'h'], [Math.floor(seconds / 60) % 60, 'min'], [seconds % 60, 's']];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0 s';
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${n} ${u}`).join(' ');
}
