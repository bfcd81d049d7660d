/**
 * The typed cluster spec and its validation. Pure code: imported by the CLI, by the
 * workflows (deterministic sandbox) and by the activities, so it must stay free of I/O.
 */
import { LEGACY_POSTGRES_VERSION, POSTGRES_VERSIONS, postgresVersionProblem, timingFor, versionOf, type PostgresVersion } from './postgres-version';
import type { FailedReplicas, RestoreFrom } from './restore';
import { repositoryRequestProblem, type RepositoryRequest } from './repository';
import { sizeProblem, type MemberSize } from './sizes';

export const MAX_REPLICAS = 8;
export const CLUSTER_NAME_MAX = 30;

/** Patroni HA timing. Values in seconds, as Patroni's DCS config takes them. */
export interface HaTiming {
  ttl: number;
  loopWait: number;
  retryTimeout: number;
  /** Bytes a replica may lag and still be promoted on failover. */
  maximumLagOnFailover: number;
}

/** HAProxy health-check cadence matched to the HA timing, so the proxy follows a failover quickly. */
export interface CheckTiming {
  /** Interval while a server is steadily UP. */
  interMs: number;
  /** Interval while a server is changing state (between UP and DOWN), so transitions are quick. */
  fastInterMs: number;
  /** Interval while a server is DOWN, so a member that comes (back) up is noticed quickly. */
  downInterMs: number;
  fall: number;
  rise: number;
}

export interface HaProfile {
  name: ProfileName;
  patroni: HaTiming;
  haproxy: CheckTiming;
}

export type ProfileName = 'default' | 'fast';

/** Profiles as data. `fast` is the setting measured at ~10 s leader-kill-to-write (PLATFORM.md). */
export const PROFILES: Record<ProfileName, HaProfile> = {
  default: {
    name: 'default',
    patroni: { ttl: 30, loopWait: 10, retryTimeout: 10, maximumLagOnFailover: 1048576 },
    haproxy: { interMs: 3000, fastInterMs: 500, downInterMs: 1000, fall: 3, rise: 2 },
  },
  fast: {
    name: 'fast',
    patroni: { ttl: 10, loopWait: 2, retryTimeout: 4, maximumLagOnFailover: 1048576 },
    haproxy: { interMs: 1000, fastInterMs: 250, downInterMs: 500, fall: 2, rise: 1 },
  },
};

export interface ClusterSpec {
  name: string;
  /** Replicas besides the leader: 0..MAX_REPLICAS. */
  replicas: number;
  /** Patroni synchronous_mode. */
  sync: boolean;
  /**
   * Patroni synchronous_mode_strict: with no synchronous standby, commits wait instead of
   * going on unreplicated. Needs `sync`. Optional so specs written before it mean false.
   */
  syncStrict?: boolean;
  profile: ProfileName;
  /** etcd members: 1 or 3. */
  etcdMembers: 1 | 3;
  /**
   * WAL archiving into the cluster's own pgBackRest repository (a volume mounted in every
   * member). Optional so specs written before it mean true; false makes a cluster without
   * backups (`create --no-backups`), which `backup enable` can give them later.
   */
  backups?: boolean;
  /**
   * Across hosts: seconds a host may stay lost before the watch re-creates its Postgres members
   * on hosts that hold none of the cluster's members; 0 = never. Optional: DEFAULT_REPLACE_AFTER_S.
   */
  replaceAfterS?: number;
  /** The PostgreSQL major version; absent in specs written before versions: 15 (common/postgres-version.ts). */
  postgresVersion?: PostgresVersion;
  /** Docker limits per Postgres member (`--cpus`, `--memory`) and the parameters derived from them (common/sizes.ts); absent: none. */
  size?: MemberSize;
}

/**
 * What every member of a cluster is created with; kept as the dbaas.spec label on its
 * containers. profile and sync can change later (set-profile, set-sync): their source of truth
 * is then Patroni's DCS config, and the label only says what the cluster was created with.
 */
export type ClusterSettings = Pick<ClusterSpec, 'profile' | 'sync' | 'syncStrict' | 'etcdMembers' | 'backups' | 'replaceAfterS' | 'postgresVersion' | 'size'>;

/** A cluster across hosts re-creates the members of a host lost for this long (`--replace-after`). */
export const DEFAULT_REPLACE_AFTER_S = 300;
/** Shorter would replace members on a host that is only rebooting, or on a network blip. */
export const MIN_REPLACE_AFTER_S = 10;
export const MAX_REPLACE_AFTER_S = 7 * 24 * 3600;

/** `--replace-after` as given: 0 (never), or MIN..MAX seconds; undefined means the default. */
export function replaceAfterProblem(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || (v !== 0 && (v < MIN_REPLACE_AFTER_S || v > MAX_REPLACE_AFTER_S))) {
    return `--replace-after must be 0 (never) or from ${MIN_REPLACE_AFTER_S} s to ${MAX_REPLACE_AFTER_S / 86400} days, got ${JSON.stringify(v)}`;
  }
  return undefined;
}

/** Synchronous replication as one user-facing value: off, on (synchronous_mode), strict (+ synchronous_mode_strict). */
export type SyncMode = 'off' | 'on' | 'strict';
export const SYNC_MODES: readonly SyncMode[] = ['off', 'on', 'strict'];

export function isSyncMode(s: string): s is SyncMode {
  return (SYNC_MODES as readonly string[]).includes(s);
}

export function syncModeOf(s: { sync: boolean; syncStrict?: boolean }): SyncMode {
  if (!s.sync) return 'off';
  return s.syncStrict ? 'strict' : 'on';
}

/** The Patroni DCS keys that express a sync mode. */
export function syncDcsPatch(mode: SyncMode): { synchronous_mode: boolean; synchronous_mode_strict: boolean } {
  return { synchronous_mode: mode !== 'off', synchronous_mode_strict: mode === 'strict' };
}

/** The Patroni DCS keys that express a profile's HA timing. */
export function timingDcsPatch(t: HaTiming): { ttl: number; loop_wait: number; retry_timeout: number; maximum_lag_on_failover: number } {
  return { ttl: t.ttl, loop_wait: t.loopWait, retry_timeout: t.retryTimeout, maximum_lag_on_failover: t.maximumLagOnFailover };
}

/** The subset of Patroni's dynamic (DCS) configuration that dbaas manages, as GET /config returns it. */
export interface DcsConfig {
  ttl?: number;
  loop_wait?: number;
  retry_timeout?: number;
  maximum_lag_on_failover?: number;
  synchronous_mode?: boolean;
  synchronous_mode_strict?: boolean;
}

/** The HA timing a profile runs with on a version (Patroni 4 raises `fast`'s ttl to its minimum, 20 s). */
export const profileTiming = (profile: ProfileName, v: PostgresVersion): HaTiming => timingFor(PROFILES[profile].patroni, v);

/** The profile whose ttl/loop_wait/retry_timeout the DCS holds (as written for either version), or undefined for timing set by hand. */
export function profileOfDcs(c: DcsConfig): ProfileName | undefined {
  const holds = (t: HaTiming): boolean => t.ttl === Number(c.ttl) && t.loopWait === Number(c.loop_wait) && t.retryTimeout === Number(c.retry_timeout);
  return (Object.keys(PROFILES) as ProfileName[]).find((p) => POSTGRES_VERSIONS.some((v) => holds(profileTiming(p, v))));
}

/** Patroni parses booleans in the DCS loosely (true, "true", "on"); so do we. */
function dcsBool(v: unknown): boolean {
  return v === true || (typeof v === 'string' && ['true', 'on', 'yes', '1'].includes(v.toLowerCase()));
}

export function syncModeOfDcs(c: DcsConfig): SyncMode {
  return syncModeOf({ sync: dcsBool(c.synchronous_mode), syncStrict: dcsBool(c.synchronous_mode_strict) });
}

/** The settings as the CLI shows them: profile (or custom timing) and sync mode, from the DCS. */
export interface DcsSettingsView {
  profile: ProfileName | 'custom';
  sync: SyncMode;
  ttl: number | null;
  loopWait: number | null;
  retryTimeout: number | null;
  /** The member whose API answered. */
  readFrom: string;
}

export function dcsSettingsView(config: DcsConfig, readFrom: string): DcsSettingsView {
  const n = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));
  return {
    profile: profileOfDcs(config) ?? 'custom',
    sync: syncModeOfDcs(config),
    ttl: n(config.ttl),
    loopWait: n(config.loop_wait),
    retryTimeout: n(config.retry_timeout),
    readFrom,
  };
}

/**
 * Current settings: profile and sync from the DCS config (the source of truth once set-profile or
 * set-sync ran), the rest from the creation label. Timing that matches no profile keeps the
 * label's profile name.
 */
export function settingsFromDcs(c: DcsConfig, created: ClusterSettings): ClusterSettings {
  const mode = syncModeOfDcs(c);
  return { ...created, profile: profileOfDcs(c) ?? created.profile, sync: mode !== 'off', syncStrict: mode === 'strict' };
}

export interface CreateClusterInput extends ClusterSpec {
  /** Leave whatever was created in place when a step fails for good (for debugging). */
  keepOnFailure: boolean;
  /** Bootstrap the first member from another cluster's backups (RestorePITR) instead of initdb. */
  restoreFrom?: RestoreFrom;
  /** Keep the backup repository in this S3 bucket instead of a volume on this host. */
  backupTo?: RepositoryRequest;
  /** With hosts added: one member of each kind per zone, not only per host (common/placement.ts). */
  zoneSpread?: boolean;
  /** With hosts added: two members of a kind may share a host when there are too few, instead of a refusal. */
  allowColocate?: boolean;
}

export interface DeleteClusterInput {
  name: string;
  /** Keep the data volumes and secrets: a later create of the same name starts on them. */
  keepData: boolean;
  /**
   * Remove the backup repository too. Unset or false keeps it (the default, as a cloud DBaaS
   * keeps a deleted database's backups): `restore NAME --into NEW` still works from it.
   */
  purgeBackups?: boolean;
}

/** Host ports published on 127.0.0.1 for one cluster. */
export interface ClusterPorts {
  rw: number;
  ro: number;
  stats: number;
  /** PgBouncer (transaction pooling) in front of rw and ro. */
  pooledRw: number;
  pooledRo: number;
}

/** What CreateCluster returns: everything needed to connect, except credentials. */
export interface ConnectionInfo {
  cluster: string;
  host: string;
  /** Every front door's address when HAProxy runs on several hosts (the first is `host`): any of them serves rw and ro. */
  hosts?: string[];
  ports: ClusterPorts;
  user: string;
  database: string;
  members: string[];
  leader: string;
  statsUrl: string;
  /** Only from a restore whose replicas failed to join: they were removed, the restored leader kept. */
  failedReplicas?: FailedReplicas;
  /**
   * Only from a create on kept data of several generations (a blue/green upgrade neither finished
   * nor rolled back before `delete --keep-data`): the generation it started, and the other
   * generations' data volumes, left as they were (common/kept-data.ts keptGenerationToStart).
   */
  keptDataLeft?: { started: number; left: { generation: number; volumes: string[] }[] };
  /**
   * Only when the exporters did not start: why (one line). The cluster serves without them;
   * `dbaas cluster add-metrics NAME` adds them.
   */
  metricsProblem?: string;
}

export class SpecError extends Error {
  override name = 'SpecError';
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Returns an error message, or undefined when the name is a valid cluster name. */
export function clusterNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > CLUSTER_NAME_MAX) {
    return `cluster name must be 1-${CLUSTER_NAME_MAX} characters, got ${name.length}`;
  }
  if (!DNS_LABEL.test(name)) {
    return `cluster name "${name}" must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function profileProblem(p: HaTiming): string | undefined {
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isInteger(v) || v <= 0) return `${k} must be a positive integer, got ${v}`;
  }
  // Patroni < 3.2 does not enforce this; violating it lets a healthy leader lose its lock.
  if (p.loopWait + 2 * p.retryTimeout > p.ttl) {
    return `loop_wait + 2 × retry_timeout must be ≤ ttl (${p.loopWait} + 2 × ${p.retryTimeout} > ${p.ttl})`;
  }
  return undefined;
}

export function isProfileName(s: string): s is ProfileName {
  return Object.prototype.hasOwnProperty.call(PROFILES, s);
}

/** Validate a full spec; throws SpecError with one clear line on the first problem. */
export function validateSpec(spec: ClusterSpec & { backupTo?: RepositoryRequest; zoneSpread?: unknown; allowColocate?: unknown }): void {
  const nameErr = clusterNameProblem(spec.name);
  if (nameErr) throw new SpecError(nameErr);
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0 || spec.replicas > MAX_REPLICAS) {
    throw new SpecError(`replicas must be an integer from 0 to ${MAX_REPLICAS}, got ${spec.replicas}`);
  }
  if (spec.etcdMembers !== 1 && spec.etcdMembers !== 3) {
    throw new SpecError(`etcd members must be 1 or 3, got ${String(spec.etcdMembers)}`);
  }
  if (!isProfileName(spec.profile)) {
    throw new SpecError(`unknown profile "${String(spec.profile)}" (known: ${Object.keys(PROFILES).join(', ')})`);
  }
  const profErr = profileProblem(PROFILES[spec.profile].patroni);
  if (profErr) throw new SpecError(`profile ${spec.profile}: ${profErr}`);
  if (spec.sync && spec.replicas < 1) {
    throw new SpecError('synchronous mode needs at least 1 replica');
  }
  if (spec.syncStrict && !spec.sync) {
    throw new SpecError('strict synchronous mode (--sync-strict) needs synchronous mode (--sync)');
  }
  const replaceErr = replaceAfterProblem(spec.replaceAfterS);
  if (replaceErr) throw new SpecError(replaceErr);
  const versionErr = postgresVersionProblem(spec.postgresVersion);
  if (versionErr) throw new SpecError(versionErr);
  const sizeErr = spec.size === undefined ? undefined : sizeProblem(spec.size);
  if (sizeErr) throw new SpecError(sizeErr);
  for (const [flag, v] of [['--zone-spread', spec.zoneSpread], ['--allow-colocate', spec.allowColocate]] as const) {
    if (v !== undefined && typeof v !== 'boolean') throw new SpecError(`${flag} must be true or false, got ${JSON.stringify(v)}`);
  }
  if (spec.backupTo !== undefined) {
    if (spec.backups === false) throw new SpecError('--backup-to and --no-backups contradict each other');
    const s3 = repositoryRequestProblem(spec.backupTo);
    if (s3) throw new SpecError(`--backup-to: ${s3}`);
  }
}

/** Member names are positional and never reused within a cluster's lifetime: pg-0, pg-1, ... */
export function memberNames(replicas: number): string[] {
  return Array.from({ length: replicas + 1 }, (_, i) => `pg-${i}`);
}

export function etcdMemberNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `etcd-${i}`);
}
