/** The images `dev up` builds (docker/*); no registry is needed, so each is tagged `:local`. */
export const IMAGES = {
  postgres: 'dbaas/postgres:local',
  etcd: 'dbaas/etcd:local',
  haproxy: 'dbaas/haproxy:local',
  pgbouncer: 'dbaas/pgbouncer:local',
  /** The repository host: pgBackRest only (docker/backup). */
  backup: 'dbaas/backup:local',
} as const;
