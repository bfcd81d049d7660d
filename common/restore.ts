/**
 * Point-in-time restore requests: the target time, and whether the source's backups can reach
 * it. Pure: the CLI checks before starting anything, and the workflow checks again.
 */
import type { BackupSummary } from './backup';
import { parseInstant, type ParsedInstant } from './timestamps';
import { isPostgresVersion, LEGACY_POSTGRES_VERSION, POSTGRES_VERSIONS, type PostgresVersion } from './postgres-version';

/** Where the source's repository is mounted (read-only) in the member that restores from it. */
export const SOURCE_REPO_PATH = '/var/lib/pgbackrest-source';

export type RestoreTarget = { kind: 'time'; time: string } | { kind: 'latest' };

export interface RestoreFrom {
  /** The source cluster (its stanza and repository volume). */
  source: string;
  target: RestoreTarget;
}

/** The documented form: 'YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM]' (or T for the space, Z for the offset). */
const TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** The target as an instant, or one line on why it is none (malformed, or a date or time that does not exist). */
function parseTarget(text: string): ParsedInstant {
  if (!TIME.test(text.trim())) return { problem: `--to-time must look like 'YYYY-MM-DD HH:MM:SS+00', got "${text}"` };
  const r = parseInstant(text);
  return 'ms' in r ? r : { problem: `--to-time "${text}" ${r.problem}` };
}

/** Milliseconds since the epoch, or undefined when the text is malformed or names no real moment. */
export function parseTargetTime(text: string): number | undefined {
  const r = parseTarget(text);
  return 'ms' in r ? r.ms : undefined;
}

/** One clear line when --to-time is malformed or impossible (2026-02-30, 24:00:00), else undefined. */
export function targetTimeProblem(text: string): string | undefined {
  const r = parseTarget(text);
  return 'problem' in r ? r.problem : undefined;
}

/** The time as pgBackRest's --target takes it (UTC, explicit offset). */
export function pgbackrestTargetTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '+00');
}

/**
 * One clear line when the source's backups cannot reach the target, or undefined. A time
 * target must lie after the end of the earliest backup (recovery starts from a backup and
 * replays WAL forward) and not in the future.
 */
export function restoreTargetProblem(target: RestoreTarget, backups: BackupSummary[], nowMs: number): string | undefined {
  const usable = backups.filter((b) => !b.error);
  if (usable.length === 0) return 'the source has no backup to restore from (run `dbaas backup run SOURCE` first)';
  if (target.kind === 'latest') return undefined;
  const parsed = parseTarget(target.time);
  if ('problem' in parsed) return parsed.problem;
  const ms = parsed.ms;
  if (ms > nowMs) return `--to-time ${target.time} is in the future (now is ${pgbackrestTargetTime(nowMs)})`;
  const earliest = usable.reduce((a, b) => (Date.parse(a.stoppedAt) <= Date.parse(b.stoppedAt) ? a : b));
  if (ms < Date.parse(earliest.stoppedAt)) {
    return `--to-time ${target.time} is before the end of the earliest backup (${earliest.label}, ended ${pgbackrestTargetTime(Date.parse(earliest.stoppedAt))}); nothing can restore to it`;
  }
  return undefined;
}

/** The backup pgBackRest restores for the target: the newest that ended by the target time (or the newest of all). */
export function backupForTarget(target: RestoreTarget, backups: BackupSummary[]): BackupSummary | undefined {
  const usable = backups.filter((b) => !b.error).sort((a, b) => Date.parse(a.stoppedAt) - Date.parse(b.stoppedAt));
  if (target.kind === 'latest') return usable[usable.length - 1];
  const ms = parseTargetTime(target.time);
  return ms === undefined ? undefined : usable.filter((b) => Date.parse(b.stoppedAt) <= ms).pop();
}

/**
 * The PostgreSQL major a restore to the target runs: its backup's (a stanza upgraded in place
 * holds both majors' backups). A backup listed without one is from before dbaas ran two: 15.
 */
export function restoreVersionFor(target: RestoreTarget, backups: BackupSummary[], current?: number): { version: PostgresVersion } | { problem: string } {
  const b = backupForTarget(target, backups);
  if (!b) return { problem: 'no backup ends before the restore target' };
  const v = b.pgVersion ?? LEGACY_POSTGRES_VERSION;
  // After an upgrade in place and before a backup on the new major, "latest" would restore the old one's data only.
  if (target.kind === 'latest' && current !== undefined && current > v) {
    return { problem: `the newest backup (${b.label}) holds PostgreSQL ${v}, from before the upgrade to ${current}: --latest would miss everything since; run \`dbaas backup run\` on the source first, or restore --to-time a moment before the upgrade` };
  }
  return isPostgresVersion(v) ? { version: v } : { problem: `backup ${b.label} holds PostgreSQL ${v}, which dbaas does not run (${POSTGRES_VERSIONS.join(', ')})` };
}

/** A replica of a restored cluster that failed to clone or start, and the innermost error why. */
export interface FailedReplica {
  member: string;
  reason: string;
}

/**
 * What a restore whose replicas failed reports: the restored leader was kept (the failed
 * replicas were removed), and the command that adds as many replicas again. `replica add`
 * chooses the names itself (after the highest member in use), so the command names a count.
 */
export interface FailedReplicas {
  members: FailedReplica[];
  addCommand: string;
}

export function failedReplicas(cluster: string, failed: FailedReplica[]): FailedReplicas | undefined {
  if (failed.length === 0) return undefined;
  const count = failed.length === 1 ? '' : ` --count ${failed.length}`;
  return { members: failed, addCommand: `dbaas replica add ${cluster}${count}` };
}

/** The restore workflow's query for the new cluster once it serves (its connection info, or null before). */
export const RESTORE_CLUSTER_READY_QUERY = 'restore-cluster-ready';
/** The restore workflow's last step: `restore` returns when it starts, unless told to wait for it. */
export const firstBackupStep = (into: string): string => `first backup of ${into}`;
