/** The users and databases dbaas makes in PostgreSQL, Patroni's REST API and etcd. */
export const SUPERUSER = 'postgres';
export const REPLICATION_USER = 'replicator';
export const REWIND_USER = 'rewinder';
export const DEFAULT_DATABASE = 'postgres';
/** The role `connect` hands out (neither superuser nor createrole) and the database it owns. */
export const APP_USER = 'app';
export const APP_DATABASE = 'app';
/** The user the worker presents to Patroni's REST API for unsafe requests (PATCH, POST, DELETE). */
export const PATRONI_API_USER = 'dbaas';
/** etcd's built-in administrator; only the worker's set-up step logs in as it. */
export const ETCD_ROOT_USER = 'root';
/** The etcd user (and role of the same name) Patroni and the worker use: read-write on the cluster's key prefix only. */
export const ETCD_PATRONI_USER = 'patroni';

/** The exporters' role (the metrics container): pg_monitor only, and a stats user on the poolers' console. */
export const MONITOR_USER = 'dbaas_monitor';

/** uid/gid of postgres in docker/postgres/Dockerfile: it must own the 0600 files dbaas puts into its containers. */
export const POSTGRES_UID = 999;
