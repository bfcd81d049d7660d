/**
 * dbaas's own facts for Prometheus (the worker's /metrics on 127.0.0.1:9465): what only dbaas
 * knows about a cluster, as Prometheus text exposition format (version 0.0.4). Pure: the worker
 * reads the facts (worker/facts.ts), this turns them into text.
 */
import { BACKUP_TYPES, type BackupType, type StanzaSummary } from './backup';
import type { BackupScheduleView } from './schedules';

export interface ClusterFacts {
  cluster: string;
  /** The PostgreSQL major its members run. */
  version: number;
  /** Per type, the stop time (epoch seconds) of the newest backup that completed without error. */
  lastBackups: { type: BackupType; completedAt: number }[];
  /** Bytes the newest good backup added to the repository; absent without one. */
  lastBackupBytes?: number;
  /** Per type with an active (not paused) schedule: seconds between its runs. */
  scheduleIntervals: { type: BackupType; seconds: number }[];
  /** The data volume's file system, per running PostgreSQL member (`df` in the member). */
  volumes: { member: string; usedBytes: number; sizeBytes: number }[];
}

/** The newest good backup of each type, and the newest one's size, from `pgbackrest info`. */
export function backupFacts(s: StanzaSummary | undefined): Pick<ClusterFacts, 'lastBackups' | 'lastBackupBytes'> {
  const good = (s?.backups ?? []).filter((b) => !b.error).sort((a, b) => a.stoppedAt.localeCompare(b.stoppedAt));
  const lastBackups = BACKUP_TYPES.flatMap((type) => {
    const newest = good.filter((b) => b.type === type).pop();
    return newest ? [{ type, completedAt: Date.parse(newest.stoppedAt) / 1000 }] : [];
  });
  const newest = good[good.length - 1];
  return { lastBackups, ...(newest ? { lastBackupBytes: newest.repositoryBytes } : {}) };
}

/**
 * Seconds between a schedule's next two runs (a cron's period: `0 3 * * *` gives a day). A paused
 * schedule makes no backups, so it has none; nor does one with fewer than two runs ahead.
 */
export function scheduleInterval(s: Pick<BackupScheduleView, 'paused' | 'nextRuns'>): number | undefined {
  if (s.paused || s.nextRuns.length < 2) return undefined;
  const seconds = (Date.parse(s.nextRuns[1]) - Date.parse(s.nextRuns[0])) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

export function scheduleIntervals(schedules: BackupScheduleView[]): ClusterFacts['scheduleIntervals'] {
  return schedules.flatMap((s) => {
    const seconds = scheduleInterval(s);
    return seconds === undefined ? [] : [{ type: s.type, seconds }];
  });
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface GaugeFamily {
  name: string;
  help: string;
  samples: Sample[];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const formatValue = (n: number): string => (Number.isFinite(n) ? String(n) : Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf');

/** Prometheus text format; a family without samples is left out (absent, not zero). */
export function renderGauges(families: GaugeFamily[]): string {
  return families.filter((f) => f.samples.length > 0).map((f) => [
    `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
    `# TYPE ${f.name} gauge`,
    ...f.samples.map((s) => {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      return `${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`;
    }),
  ].join('\n') + '\n').join('');
}

export function renderFacts(clusters: ClusterFacts[]): string {
  const each = (fn: (c: ClusterFacts) => Sample[]): Sample[] => clusters.flatMap(fn);
  return renderGauges([
    {
      name: 'dbaas_cluster_info', help: 'A cluster dbaas runs, with its PostgreSQL major version.',
      samples: each((c) => [{ labels: { cluster: c.cluster, version: String(c.version) }, value: 1 }]),
    },
    {
      name: 'dbaas_backup_last_completed_timestamp_seconds', help: 'When the newest backup of this type that completed without error stopped (pgbackrest info).',
      samples: each((c) => c.lastBackups.map((b) => ({ labels: { cluster: c.cluster, type: b.type }, value: b.completedAt }))),
    },
    {
      name: 'dbaas_backup_last_size_bytes', help: 'Bytes the newest good backup added to the repository.',
      samples: each((c) => (c.lastBackupBytes === undefined ? [] : [{ labels: { cluster: c.cluster }, value: c.lastBackupBytes }])),
    },
    {
      name: 'dbaas_backup_schedule_interval_seconds', help: 'Seconds between the runs of the backup schedule of this type (absent without an active schedule).',
      samples: each((c) => c.scheduleIntervals.map((s) => ({ labels: { cluster: c.cluster, type: s.type }, value: s.seconds }))),
    },
    {
      name: 'dbaas_volume_used_bytes', help: 'Bytes used on the file system of the member\'s data volume.',
      samples: each((c) => c.volumes.map((v) => ({ labels: { cluster: c.cluster, member: v.member }, value: v.usedBytes }))),
    },
    {
      name: 'dbaas_volume_size_bytes', help: 'Size of the file system of the member\'s data volume.',
      samples: each((c) => c.volumes.map((v) => ({ labels: { cluster: c.cluster, member: v.member }, value: v.sizeBytes }))),
    },
  ]);
}
