/**
 * The metrics container (docker/metrics): the files dbaas puts into it and the role its exporters
 * log in as. Pure.
 *
 * postgres_exporter 0.11.1 (Debian bookworm) has no multi-target /probe (it came with 0.12), so
 * the container's probe.py starts one exporter per member on first use and serves them all as
 * `GET /probe?target=pg-N` on one port; `target=pgbouncer-rw|ro` reaches the PgBouncer exporter of
 * the poolers of its own front door.
 */
import { LOCAL_HOST, type HostName } from '../inventory';
import { PG_PORT } from '../service-ports';
import { containerName } from '../resource-names';
import { DEFAULT_DATABASE, MONITOR_USER } from '../service-users';
import { PGBOUNCER_PORT } from './pgbouncer';

/** The dbaas.member label and container name suffix of the metrics container (one beside each HAProxy). */
export const METRICS_MEMBER = 'metrics';
/** probe.py's port in the container: `/probe?target=MEMBER`, `/health`. */
export const METRICS_PORT = 9187;
export const METRICS_DIR = '/etc/dbaas-metrics';
/** uid/gid of prometheus in docker/metrics/Dockerfile: it must own the 0600 credential files. */
export const METRICS_UID = 999;

export const METRICS_FILES = {
  config: `${METRICS_DIR}/probe.json`,
  /** The monitor password alone (postgres_exporter's DATA_SOURCE_PASS_FILE). */
  password: `${METRICS_DIR}/password`,
  /** The same password as a libpq password file (the PgBouncer exporter connects with psycopg2). */
  pgpass: `${METRICS_DIR}/pgpass`,
  ca: `${METRICS_DIR}/ca.crt`,
} as const;

/** What probe.py reads (METRICS_FILES.config): addresses and file names, no secret. */
export interface ProbeConfig {
  listen: number;
  /** A target's host is this prefix and its member name (its container's name on the cluster network). */
  hostPrefix: string;
  user: string;
  database: string;
  postgresPort: number;
  pgbouncerPort: number;
  /** verify-full against the cluster CA; disable for a cluster made before TLS. */
  sslmode: 'verify-full' | 'disable';
  sslrootcert: string | null;
  passwordFile: string;
  pgpassFile: string;
  /**
   * pgbouncer-rw|ro → the name this front door's pooler answers to alone (poolerHostAlias). Absent
   * on this machine, where the container's name is the pooler's: then probe.py connects by it.
   */
  poolerAliases?: Record<string, string>;
}

/**
 * The name a pooler on an added host answers to on the cluster network besides its container's.
 * There the network is a swarm overlay joining every host, and every front door's pooler has the
 * same container name, so that name may resolve to another host's pooler; the metrics container
 * beside it probes it by this one. `<container>.<host>`: each DNS label stays within 63
 * characters (a cluster name has up to 30, a host name up to 20). None on this machine (a bridge
 * of its own: the name is unique there).
 */
export function poolerHostAlias(cluster: string, member: string, host: HostName): string | undefined {
  return host === LOCAL_HOST ? undefined : `${containerName(cluster, member)}.${host}`;
}

export interface ProbeConfigInput {
  cluster: string;
  tls: boolean;
  /** The poolers of this front door that answer to their host alias (pgbouncer-rw|ro → alias). */
  poolerAliases?: Record<string, string>;
}

export function probeConfig(i: ProbeConfigInput): ProbeConfig {
  return {
    listen: METRICS_PORT,
    hostPrefix: containerName(i.cluster, ''),
    user: MONITOR_USER,
    database: DEFAULT_DATABASE,
    postgresPort: PG_PORT,
    pgbouncerPort: PGBOUNCER_PORT,
    sslmode: i.tls ? 'verify-full' : 'disable',
    sslrootcert: i.tls ? METRICS_FILES.ca : null,
    passwordFile: METRICS_FILES.password,
    pgpassFile: METRICS_FILES.pgpass,
    ...(i.poolerAliases && Object.keys(i.poolerAliases).length > 0 ? { poolerAliases: i.poolerAliases } : {}),
  };
}

export const renderProbeConfig = (i: ProbeConfigInput): string => `${JSON.stringify(probeConfig(i), null, 2)}\n`;

/** libpq's password file: one line for the poolers' console database, `:` and `\` escaped. */
export function renderPgpass(password: string): string {
  const esc = (s: string): string => s.replace(/[\\:]/g, (c) => `\\${c}`);
  return `*:*:pgbouncer:${esc(MONITOR_USER)}:${esc(password)}\n`;
}

/**
 * The monitor role, idempotent: LOGIN, pg_monitor, nothing else. Every run takes back what would
 * give it more (attributes, other roles' memberships: made by hand, or restored from another
 * cluster). Its password is set apart (setRolePassword: a verifier, never the plaintext).
 */
export function monitorRoleSql(): string[] {
  return [
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${MONITOR_USER}') THEN CREATE ROLE ${MONITOR_USER} LOGIN; END IF; END $$`,
    // A limit keeps a runaway exporter from taking the connections clients need.
    `ALTER ROLE ${MONITOR_USER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 10`,
    `GRANT pg_monitor TO ${MONITOR_USER}`,
    `DO $$ DECLARE r record; BEGIN
       FOR r IN SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles u ON u.oid = a.member
                WHERE u.rolname = '${MONITOR_USER}' AND g.rolname <> 'pg_monitor' LOOP
         EXECUTE format('REVOKE %I FROM ${MONITOR_USER}', r.rolname);
       END LOOP;
     END $$`,
  ];
}
