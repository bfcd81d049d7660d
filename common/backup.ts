import type { RepositoryRequest } from './repository';

/**
 * Backups as users see them: the summary of `pgbackrest info --output=json`, and the validation
 * of backup requests. Pure: used by the CLI, the workflows and the activities.
 */

export type BackupType = 'full' | 'diff' | 'incr';
export const BACKUP_TYPES: readonly BackupType[] = ['full', 'diff', 'incr'];

export function isBackupType(s: string): s is BackupType {
  return (BACKUP_TYPES as readonly string[]).includes(s);
}

/** The backup workflow's query for the backup it made (BackupSummary, or null before). */
export const BACKUP_MADE_QUERY = 'backup-made';
/** The backup workflow's step after the backup: `backup run` returns when it starts. */
export const RECORD_ROW_COUNTS_STEP = 'record row counts (for restore drills)';

export interface BackupSummary {
  label: string;
  type: BackupType;
  /** ISO 8601, UTC. */
  startedAt: string;
  stoppedAt: string;
  durationS: number;
  /** Size of the database files the backup covers. */
  databaseBytes: number;
  /** Bytes this backup added to the repository (compressed, its own files only). */
  repositoryBytes: number;
  walStart: string;
  walStop: string;
  lsnStart: string;
  lsnStop: string;
  /** The backup a diff or incr builds on. */
  prior: string | null;
  error: boolean;
  /** The PostgreSQL major it holds (the stanza's database history says which); absent when unknown. */
  pgVersion?: number;
}

export interface StanzaSummary {
  stanza: string;
  /** pgBackRest's status: "ok", "no valid backups", "missing stanza path", ... */
  status: string;
  statusCode: number;
  /** A backup holds the stanza's lock right now. */
  backupRunning: boolean;
  /** "45.12% complete" while a backup runs (pgBackRest 2.44+), if reported. */
  progress?: string;
  /** Bytes the running backup has copied so far (pgBackRest 2.44+), if reported: its progress measure. */
  bytesDone?: number;
  archiveMin: string | null;
  archiveMax: string | null;
  /** The repository's cipher: "aes-256-cbc", or "none" for one made before dbaas encrypted them. */
  cipher: string;
  /** The PostgreSQL major the stanza archives now (its newest database; an upgrade in place adds one). */
  pgVersion?: number;
  /** Where the repository is: `volume NAME`, or `s3://BUCKET/PATH (https://ENDPOINT:PORT, REGION)`. */
  repository?: string;
  backups: BackupSummary[];
}

interface RawBackup {
  label: string;
  type: string;
  error?: boolean;
  prior: string | null;
  archive: { start: string | null; stop: string | null };
  lsn?: { start: string; stop: string };
  info: { size: number; delta: number; repository: { size: number; delta: number } };
  timestamp: { start: number; stop: number };
  database?: { id: number };
}

interface RawStanza {
  name: string;
  cipher?: string;
  status: { code: number; message: string; lock?: { backup?: { held: boolean; size?: number; 'size-cplt'?: number } } };
  archive?: { min: string | null; max: string | null }[];
  backup?: RawBackup[];
  /** The stanza's database history: one entry per PostgreSQL system it held (a major upgrade adds one). */
  db?: { id: number; version: string }[];
}

const iso = (epochS: number): string => new Date(epochS * 1000).toISOString();

/** Parse `pgbackrest --stanza=S info --output=json` (an array with one element per stanza). */
export function parseBackupInfo(json: string, stanza: string): StanzaSummary {
  const all = JSON.parse(json) as RawStanza[];
  const s = all.find((x) => x.name === stanza);
  if (!s) return { stanza, status: 'missing stanza', statusCode: -1, backupRunning: false, archiveMin: null, archiveMax: null, cipher: 'none', backups: [] };
  const lock = s.status.lock?.backup;
  const progress = lock?.held && lock.size ? `${(((lock['size-cplt'] ?? 0) / lock.size) * 100).toFixed(1)}% complete` : undefined;
  return {
    stanza,
    status: s.status.message,
    statusCode: s.status.code,
    backupRunning: Boolean(lock?.held),
    ...(progress ? { progress, bytesDone: lock?.['size-cplt'] ?? 0 } : {}),
    archiveMin: s.archive?.[0]?.min ?? null,
    archiveMax: s.archive?.[0]?.max ?? null,
    cipher: s.cipher ?? 'none',
    ...withCurrentVersion(Number([...(s.db ?? [])].sort((a, b) => a.id - b.id).pop()?.version)),
    backups: (s.backup ?? []).map((b) => withVersion({
      label: b.label,
      type: isBackupType(b.type) ? b.type : 'full',
      startedAt: iso(b.timestamp.start),
      stoppedAt: iso(b.timestamp.stop),
      durationS: b.timestamp.stop - b.timestamp.start,
      databaseBytes: b.info.size,
      repositoryBytes: b.info.repository.delta,
      walStart: b.archive.start ?? '',
      walStop: b.archive.stop ?? '',
      lsnStart: b.lsn?.start ?? '',
      lsnStop: b.lsn?.stop ?? '',
      prior: b.prior,
      error: Boolean(b.error),
    }, Number(s.db?.find((d) => d.id === b.database?.id)?.version))),
  };
}

const withVersion = (b: BackupSummary, v: number): BackupSummary => (Number.isInteger(v) ? { ...b, pgVersion: v } : b);
const withCurrentVersion = (v: number): { pgVersion?: number } => (Number.isInteger(v) ? { pgVersion: v } : {});

/** The backups that appeared since `before` (labels), oldest first. */
export function newBackups(before: string[], now: BackupSummary[]): BackupSummary[] {
  const seen = new Set(before);
  return now.filter((b) => !seen.has(b.label));
}

export interface RetentionRequest {
  full?: number;
  diff?: number;
}

/** One clear line for a bad retention value, or undefined. */
export function retentionProblem(r: RetentionRequest): string | undefined {
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1 || v > 9999) return `--retention-${k} must be an integer from 1 to 9999, got ${v}`;
  }
  return undefined;
}

export interface BackupInput {
  cluster: string;
  type: BackupType;
  /**
   * Require the data files to come from a standby (refused when none can serve). Unset or false:
   * from a standby when one can serve, else from the leader.
   */
  fromStandby: boolean;
  /** Read every file from the leader, even when a standby could serve. */
  fromPrimary?: boolean;
  /** Retention to keep for this cluster from now on (this backup's expire applies it). */
  retention?: RetentionRequest;
  /** Run a restore drill (VerifyBackup) of this backup right after it (schedules' --verify). */
  verifyAfter?: boolean;
}

/** `info` status codes (pgBackRest 2.45) meaning the stanza does not exist yet: 1 missing stanza path, 3 missing stanza data; -1 = not listed. */
export const STANZA_MISSING_CODES = new Set([1, 3, -1]);

/** Exact row counts of the user tables of the default and app databases, taken right after a backup, for restore drills. */
export interface RowCounts {
  /** The moment of the counting transaction's snapshot (UTC, pgBackRest --target form). */
  at: string;
  tables: Record<string, number>;
}

/** Tables whose counts differ (or exist on one side only), as one line each. */
export function rowCountMismatches(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return names
    .filter((t) => expected[t] !== actual[t])
    .map((t) => `${t}: ${expected[t] ?? 'absent'} at backup time, ${actual[t] ?? 'absent'} restored`);
}

export interface VerifyBackupInput {
  cluster: string;
  /** The backup to verify; the latest when absent. */
  label?: string;
}

export interface VerifyBackupResult {
  cluster: string;
  label: string;
  scratchCluster: string;
  /** Seconds from the start of the restore until the scratch cluster answered. */
  restoreSeconds: number;
  tablesChecked: number;
  mismatches: string[];
  /** False when the backup has no recorded counts (made before drills): only start and reads were checked. */
  countsCompared: boolean;
}

/** A short deterministic name for the drill's scratch cluster (a DNS label under 30 characters). */
export function scratchClusterName(cluster: string, label: string): string {
  let h = 2166136261;
  for (const ch of `${cluster}:${label}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `vfy-${h.toString(16).padStart(8, '0')}`;
}

export interface EnableBackupsInput {
  cluster: string;
  /**
   * The repository in this S3 bucket or on the repository host instead of a volume: for a cluster
   * with no repository yet, or (the repository host only) to move a volume repository there with
   * its backups (`backup migrate`).
   */
  backupTo?: RepositoryRequest;
}

export interface EnableBackupsResult {
  cluster: string;
  /** Members whose containers were re-created with the repository mounted (none on a second run). */
  recreated: string[];
  /** The leader at the end (another member when the old leader had to be re-created). */
  leader: string;
  /** A volume repository moved onto the repository host: the backups it held, now listed there. */
  moved?: { volume: string; backups: number };
}
