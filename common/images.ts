import type { PostgresVersion } from './postgres-version';

/** The images `dev up` builds (docker/*); no registry is needed, so each is tagged `:local`. */
export const IMAGES = {
  /** PostgreSQL 15, Patroni 3.0.2, pgBackRest 2.45 (bookworm). */
  postgres: 'dbaas/postgres:local',
  /** PostgreSQL 17, Patroni 4.0.7, pgBackRest 2.55.1 (trixie). */
  postgres17: 'dbaas/postgres17:local',
  etcd: 'dbaas/etcd:local',
  haproxy: 'dbaas/haproxy:local',
  pgbouncer: 'dbaas/pgbouncer:local',
  /** The repository host: pgBackRest only (docker/backup). */
  backup: 'dbaas/backup:local',
  /** The 17 image with 15's binaries beside them: the one-shot pg_upgrade helper of an in-place upgrade. */
  postgresUpgrade: 'dbaas/postgres-upgrade:local',
  /** prometheus-postgres-exporter and prometheus-pgbouncer-exporter behind one /probe port (docker/metrics). */
  metrics: 'dbaas/metrics:local',
} as const;

/** The member image of a PostgreSQL major version. */
export const postgresImage = (v: PostgresVersion): string => (v === 17 ? IMAGES.postgres17 : IMAGES.postgres);
