/**
 * Deterministic Docker resource names and labels. A retried activity recomputes the same
 * name and finds what its first attempt made.
 */

export const LABEL_CLUSTER = 'dbaas.cluster';
export const LABEL_ROLE = 'dbaas.role';
export const LABEL_MEMBER = 'dbaas.member';
export const LABEL_PORT_PREFIX = 'dbaas.port.';
export const LABEL_SPEC = 'dbaas.spec';

export type Role = 'etcd' | 'postgres' | 'haproxy' | 'pgbouncer' | 'network' | 'backup';

export const TASK_QUEUE = 'dbaas';
export const SEARCH_ATTRIBUTE_CLUSTER = 'ClusterName';

/** Patroni DCS namespace; the scope below it is the cluster name. */
export const PATRONI_NAMESPACE = '/dbaas/';
/** Every key Patroni keeps for one cluster starts with this (the slash keeps `a` out of `ab`'s keys). */
export const dcsPrefix = (cluster: string): string => `${PATRONI_NAMESPACE}${cluster}/`;
export const PG_PORT = 5432;
export const PATRONI_API_PORT = 8008;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const HAPROXY_RW_PORT = 5000;
export const HAPROXY_RO_PORT = 5001;
export const HAPROXY_STATS_PORT = 7000;

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

/** uid/gid of postgres in docker/postgres/Dockerfile: it must own the 0600 files dbaas puts into its containers. */
export const POSTGRES_UID = 999;

export const IMAGES = {
  postgres: 'dbaas/postgres:local',
  etcd: 'dbaas/etcd:local',
  haproxy: 'dbaas/haproxy:local',
  pgbouncer: 'dbaas/pgbouncer:local',
  /** The repository host: pgBackRest only (docker/backup). */
  backup: 'dbaas/backup:local',
} as const;

export const networkName = (cluster: string): string => `dbaas-${cluster}`;
/**
 * Every cluster network's Linux bridge starts with this, so one DOCKER-USER rule (`-o dbaas-+`)
 * covers the networks made after `dev up` too (see client/dev/forwarding-firewall.ts).
 */
export const BRIDGE_PREFIX = 'dbaas-';
/** Docker's network option that names the bridge (otherwise br-<network id>). */
export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
/**
 * The cluster network's bridge: the prefix and a hash of the cluster name, since a Linux interface
 * name has at most 15 characters and cluster names up to 30.
 */
export const bridgeName = (cluster: string): string => `${BRIDGE_PREFIX}${fnv1a64(cluster).slice(0, 15 - BRIDGE_PREFIX.length)}`;

/** FNV-1a, 64 bits, as 16 hex digits, over the UTF-16 code units (cluster names are ASCII DNS labels). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}
export const containerName = (cluster: string, member: string): string => `dbaas-${cluster}-${member}`;
export const volumeName = (cluster: string, member: string): string => `dbaas-${cluster}-${member}-data`;
export const HAPROXY_MEMBER = 'haproxy';
/** The cluster's pgBackRest repository, mounted in every Postgres container. */
export const repositoryVolumeName = (cluster: string): string => `dbaas-${cluster}-backup-repo`;

/** The container (as `docker ps` lists it) mounts the cluster's backup repository. */
export function mountsRepository(c: { Mounts?: { Name?: string }[] }, cluster: string): boolean {
  return (c.Mounts ?? []).some((m) => m.Name === repositoryVolumeName(cluster));
}

/** On a member that runs `pgbackrest server` (a backup can read its files as a standby): its port. */
export const LABEL_BACKUP_SERVER = 'dbaas.backup-server';

/** On a member that reaches its repository without mounting it: `s3` (its bucket) or `host` (the repository host). */
export const LABEL_REPOSITORY = 'dbaas.repository';

/** The member reaches the cluster's backup repository: it mounts its volume, or it was made for its S3 bucket or the repository host. */
export function reachesRepository(c: { Mounts?: { Name?: string }[]; Labels?: Record<string, string> }, cluster: string): boolean {
  const kind = c.Labels?.[LABEL_REPOSITORY];
  return mountsRepository(c, cluster) || kind === 's3' || kind === 'host';
}

export function labels(cluster: string, role: Role, member?: string): Record<string, string> {
  const l: Record<string, string> = { [LABEL_CLUSTER]: cluster, [LABEL_ROLE]: role };
  if (member !== undefined) l[LABEL_MEMBER] = member;
  return l;
}

/** etcd client endpoints as host:port, reachable by container DNS name on the cluster network. */
export function etcdHostList(cluster: string, etcdMembers: string[], port: number): string[] {
  return etcdMembers.map((m) => `${containerName(cluster, m)}:${port}`);
}
