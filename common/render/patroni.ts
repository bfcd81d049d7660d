/** patroni.yml for one member, rendered from the typed spec. Pure. */
import { stringify } from 'yaml';
import type { HaProfile } from '../spec';
import { archiveCommand } from './pgbackrest';
import { tlsFilesIn } from './tls';
import { ETCD_CLIENT_PORT, PATRONI_API_PORT, PG_PORT } from '../service-ports';
import { ETCD_PATRONI_USER, PATRONI_API_USER, REPLICATION_USER, REWIND_USER, SUPERUSER } from '../service-users';
import { PATRONI_NAMESPACE, etcdHostList } from '../dcs-keys';
import { containerName } from '../resource-names';
import { LEGACY_POSTGRES_VERSION, pgBinDir, type PostgresVersion } from '../postgres-version';
import { FIRST_GENERATION, patroniScope } from '../generations';
import { LOGICAL_REPLICATION_WORKERS } from '../logical-replication';
import { sizeParameters, type MemberSize } from '../sizes';
import { DATA_DIR, DATA_ROOT, SOCKET_DIR } from './image-paths';

export { DATA_ROOT, DATA_DIR, SOCKET_DIR };
export const PATRONI_CONFIG_PATH = '/etc/patroni/patroni.yml';
/** The 15 image's binaries (the restore helper's); a member's come from its cluster's version (pgBinDir). */
export const PG_BIN = pgBinDir(LEGACY_POSTGRES_VERSION);
/** The member's server certificate, key and the cluster CA, beside patroni.yml. */
export const MEMBER_TLS = tlsFilesIn('/etc/patroni');

export interface ClusterPasswords {
  superuser: string;
  replication: string;
  rewind: string;
  /** PgBouncer's auth_query user (dbaas_pgbouncer). */
  pooler: string;
  // The three below are absent from clusters made before REST API and etcd authentication.
  /** Patroni REST API user PATRONI_API_USER, required for unsafe requests. */
  patroniApi?: string;
  /** etcd's root user. */
  etcdRoot?: string;
  /** etcd user ETCD_PATRONI_USER, limited to the cluster's key prefix. */
  etcdPatroni?: string;
  /**
   * The least-privilege role APP_USER. Absent from clusters made before it; written only by the
   * step that creates the role, so its presence means the role was made with it.
   */
  app?: string;
  /** The exporters' role MONITOR_USER (pg_monitor only). Absent from clusters made before the metrics container. */
  monitor?: string;
}

export interface PatroniMemberTags {
  nofailover: boolean;
  noloadbalance: boolean;
}

export interface PatroniRenderInput {
  cluster: string;
  member: string;
  etcdMembers: string[];
  profile: HaProfile;
  sync: boolean;
  /** synchronous_mode_strict; only meaningful with sync. */
  syncStrict?: boolean;
  tags: PatroniMemberTags;
  passwords: ClusterPasswords;
  /** WAL archiving into the cluster's stanza (false: a cluster made with --no-backups). */
  archive: boolean;
  /**
   * archive_mode on, but archive_command discards the WAL until it is set for real: a blue/green
   * upgrade's next generation, whose WAL the stanza takes only from the cutover on (it is still
   * the serving major's until then).
   */
  archiveHeld?: boolean;
  /** TLS for every TCP client, members included (false: a cluster made before TLS). */
  tls: boolean;
  /** The PostgreSQL major the member runs (its image's binaries); absent: 15. */
  version?: PostgresVersion;
  /** Its generation (common/generations.ts): a blue/green upgrade's new members are a Patroni cluster of their own. Absent: 1. */
  generation?: number;
  /** The member's size: the parameters derived from its memory go into the bootstrap DCS config (common/sizes.ts). */
  size?: MemberSize;
}

/** PostgreSQL parameters every member starts with (bootstrap DCS copy; Patroni keeps them in sync). */
export const BASE_PARAMETERS: Record<string, string | number> = {
  password_encryption: 'scram-sha-256',
  // logical, not replica: a blue/green upgrade replicates every table to the next major's
  // members, and wal_level changes only with a restart of every member (CloudNativePG's default too).
  wal_level: 'logical',
  hot_standby: 'on',
  wal_log_hints: 'on',
  max_connections: 100,
  // Beside the replicas' physical slots, a blue/green upgrade takes one logical slot and sender per
  // database, plus a few temporary ones during its initial copy (common/logical-replication.ts).
  max_wal_senders: 20,
  max_replication_slots: 20,
  // The next generation's apply and table-sync workers come out of these (one apply worker per database).
  max_worker_processes: 16,
  max_logical_replication_workers: LOGICAL_REPLICATION_WORKERS,
  wal_keep_size: '128MB',
  // A standby retries a failed WAL connection (e.g. its slot not there yet, or a new leader
  // after failover) after this long; PostgreSQL's default is 5 s.
  wal_retrieve_retry_interval: '1s',
};

/**
 * WAL archiving into the cluster's pgBackRest stanza. archive_command runs only on a primary,
 * so after a failover the new leader carries on pushing. archive_timeout bounds how far back a
 * point-in-time restore can fall behind an idle database.
 */
export function archiveParameters(stanza: string): Record<string, string> {
  return { archive_mode: 'on', archive_command: archiveCommand(stanza), archive_timeout: '60s' };
}

/** archive_mode on (it takes a restart to turn on), the WAL discarded meanwhile. */
export const HELD_ARCHIVE_COMMAND = '/bin/true';

function archiveSettings(i: PatroniRenderInput): Record<string, string> {
  if (!i.archive) return {};
  const p = archiveParameters(i.cluster);
  return i.archiveHeld ? { ...p, archive_command: HELD_ARCHIVE_COMMAND } : p;
}

function memberTls(tls: boolean): Record<string, string> {
  return tls ? { sslmode: 'verify-full', sslrootcert: MEMBER_TLS.ca } : {};
}

/**
 * With TLS every TCP connection must use it: `hostnossl … reject` comes first (rules match in
 * order; `all` as database does not cover replication, hence its own line).
 */
function pgHba(tls: boolean): string[] {
  const host = tls ? 'hostssl' : 'host';
  return [
    // Patroni itself runs as the postgres OS user and connects over the socket.
    `local all ${SUPERUSER} peer`,
    'local all all scram-sha-256',
    ...(tls ? ['hostnossl all all 0.0.0.0/0 reject', 'hostnossl replication all 0.0.0.0/0 reject'] : []),
    `${host} replication ${REPLICATION_USER} 0.0.0.0/0 scram-sha-256`,
    `${host} all all 0.0.0.0/0 scram-sha-256`,
  ];
}

export function renderPatroniConfig(i: PatroniRenderInput): string {
  const host = containerName(i.cluster, i.member);
  const p = i.profile.patroni;
  const doc = {
    scope: patroniScope(i.cluster, i.generation ?? FIRST_GENERATION),
    namespace: PATRONI_NAMESPACE,
    name: i.member,
    restapi: {
      listen: `0.0.0.0:${PATRONI_API_PORT}`,
      connect_address: `${host}:${PATRONI_API_PORT}`,
      // Patroni asks for it on unsafe methods only (PATCH /config, POST /switchover, ...): GET
      // and HAProxy's OPTIONS health checks stay open. Without it, anyone on the cluster network
      // could PATCH archive_command and run code as postgres.
      ...(i.passwords.patroniApi ? { authentication: { username: PATRONI_API_USER, password: i.passwords.patroniApi } } : {}),
    },
    // etcd 3.4 disables the v2 API that Patroni's `etcd:` section speaks.
    etcd3: {
      hosts: etcdHostList(i.cluster, i.etcdMembers, ETCD_CLIENT_PORT),
      // Patroni also logs in when etcd runs without authentication (it then goes on without a token).
      ...(i.passwords.etcdPatroni ? { username: ETCD_PATRONI_USER, password: i.passwords.etcdPatroni } : {}),
    },
    bootstrap: {
      dcs: {
        ttl: p.ttl,
        loop_wait: p.loopWait,
        retry_timeout: p.retryTimeout,
        maximum_lag_on_failover: p.maximumLagOnFailover,
        synchronous_mode: i.sync,
        // Strict: with no synchronous standby left, commits wait rather than go on unreplicated.
        synchronous_mode_strict: i.sync && (i.syncStrict ?? false),
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          // The size's parameters stay ordinary DCS values: `cluster config set` may change them later.
          parameters: { ...BASE_PARAMETERS, ...sizeParameters(i.size), ...archiveSettings(i) },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums', { 'auth-host': 'scram-sha-256' }, { 'auth-local': 'peer' }],
    },
    postgresql: {
      listen: `0.0.0.0:${PG_PORT}`,
      connect_address: `${host}:${PG_PORT}`,
      data_dir: DATA_DIR,
      bin_dir: pgBinDir(i.version ?? LEGACY_POSTGRES_VERSION),
      pgpass: '/tmp/pgpass',
      // Replicas clone with pg_basebackup; a fast checkpoint on the leader starts the copy at
      // once instead of waiting for a spread checkpoint (measured 2.0 s → 1.0 s per clone).
      basebackup: [{ checkpoint: 'fast' }],
      // Patroni's own connections (as the postgres OS user) go over the socket: no TLS needed, peer auth.
      ...(i.tls ? { use_unix_socket: true } : {}),
      authentication: {
        superuser: { username: SUPERUSER, password: i.passwords.superuser },
        // A replica streaming from, or rewinding against, another member checks that member's
        // certificate against the cluster CA and its name (the container name it connects to).
        replication: { username: REPLICATION_USER, password: i.passwords.replication, ...memberTls(i.tls) },
        rewind: { username: REWIND_USER, password: i.passwords.rewind, ...memberTls(i.tls) },
      },
      parameters: {
        unix_socket_directories: SOCKET_DIR,
        password_encryption: 'scram-sha-256',
        // Local parameters, not bootstrap: they also reach members of a cluster bootstrapped earlier.
        ...(i.tls ? { ssl: 'on', ssl_cert_file: MEMBER_TLS.cert, ssl_key_file: MEMBER_TLS.key } : {}),
      },
      pg_hba: pgHba(i.tls),
    },
    tags: {
      nofailover: i.tags.nofailover,
      noloadbalance: i.tags.noloadbalance,
      clonefrom: false,
      nosync: false,
    },
  };
  return stringify(doc, { lineWidth: 0 });
}
