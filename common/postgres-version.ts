/**
 * The PostgreSQL major versions dbaas runs, each from one Debian release's packages: 15 from
 * bookworm (Patroni 3.0.2, pgBackRest 2.45), 17 from trixie (Patroni 4.0.7, pgBackRest 2.55.1).
 * Pure: the CLI checks `--version` with it, workflows check their input, activities pick the
 * image and the binaries.
 */

export type PostgresVersion = 15 | 17;
export const POSTGRES_VERSIONS: readonly PostgresVersion[] = [15, 17];
/** A spec written before versions existed is a 15 cluster. */
export const LEGACY_POSTGRES_VERSION: PostgresVersion = 15;
/** New clusters, unless `--version` says otherwise. */
export const DEFAULT_POSTGRES_VERSION: PostgresVersion = 17;

export const isPostgresVersion = (v: unknown): v is PostgresVersion => (POSTGRES_VERSIONS as readonly unknown[]).includes(v);

export function postgresVersionProblem(v: unknown): string | undefined {
  if (v === undefined || isPostgresVersion(v)) return undefined;
  return `--version must be one of ${POSTGRES_VERSIONS.join(', ')}, got ${JSON.stringify(v)}`;
}

/** The version of a cluster whose spec may predate versions. */
export const versionOf = (s: { postgresVersion?: PostgresVersion }): PostgresVersion => s.postgresVersion ?? LEGACY_POSTGRES_VERSION;

/** Debian's binaries of a major (pg_ctl, postgres, pg_upgrade). */
export const pgBinDir = (v: PostgresVersion): string => `/usr/lib/postgresql/${v}/bin`;

/**
 * Patroni 4 (the 17 image) raises HA timing to its own minimums (ttl ≥ 20, retry_timeout ≥ 3,
 * loop_wait ≥ 1, loop_wait + 2 × retry_timeout ≤ ttl) and writes what it raised into the DCS;
 * Patroni 3.0.2 takes them as given. Rendering the raised values for 17 keeps what the DCS holds
 * equal to what dbaas wrote.
 */
export interface Timing { ttl: number; loopWait: number; retryTimeout: number }
export function timingFor<T extends Timing>(t: T, v: PostgresVersion): T {
  if (v === 15) return t;
  const loopWait = Math.max(1, t.loopWait);
  const retryTimeout = Math.max(3, t.retryTimeout);
  const ttl = Math.max(20, t.ttl, loopWait + 2 * retryTimeout);
  return { ...t, ttl, loopWait, retryTimeout };
}

/** The majors an in-place upgrade goes between: one image holds both majors' binaries (dbaas/postgres-upgrade). */
export const UPGRADE_PATHS: readonly { from: PostgresVersion; to: PostgresVersion }[] = [{ from: 15, to: 17 }];

export function upgradeProblem(cluster: string, from: PostgresVersion, to: unknown): string | undefined {
  if (!isPostgresVersion(to)) return `--to must be one of ${POSTGRES_VERSIONS.join(', ')}, got ${JSON.stringify(to)}`;
  if (to === from) return `cluster ${cluster} already runs PostgreSQL ${to}`;
  if (to < from) return `cluster ${cluster} runs PostgreSQL ${from}: PostgreSQL does not go back to ${to} (restore a backup made before an upgrade instead)`;
  if (!UPGRADE_PATHS.some((p) => p.from === from && p.to === to)) return `no upgrade from PostgreSQL ${from} to ${to} (known: ${UPGRADE_PATHS.map((p) => `${p.from} → ${p.to}`).join(', ')})`;
  return undefined;
}
