/** pgbouncer.ini and its auth file for one pooled endpoint. Pure. */
import { HAPROXY_MEMBER, containerName } from '../resource-names';
import { MONITOR_USER, SUPERUSER } from '../service-users';
import { tlsFilesIn } from './tls';

export const PGBOUNCER_PORT = 6432;
export const PGBOUNCER_DIR = '/etc/pgbouncer';
/** PgBouncer's own server certificate and key (client side), and the CA it checks members against. */
export const PGBOUNCER_TLS = tlsFilesIn(PGBOUNCER_DIR);
/** The role PgBouncer logs in as to run auth_query; it can do nothing but call the lookup function. */
export const POOLER_AUTH_USER = 'dbaas_pgbouncer';
export const POOLER_LOOKUP_FUNCTION = 'dbaas.pgbouncer_lookup';

export interface PgbouncerRenderInput {
  cluster: string;
  /** HAProxy port inside the cluster network: 5000 (rw) or 5001 (ro). */
  backendPort: number;
  maxClientConn: number;
  /** Server connections per pool, and the extra ones a pool may open when clients wait (common/pool-sizes.ts). */
  defaultPoolSize: number;
  reservePoolSize: number;
  /** Clients must use TLS, and the server connections verify the members' certificates (false: made before TLS). */
  tls: boolean;
}

/**
 * PgBouncer terminates the client's TLS (HAProxy passes TCP through, so the server is
 * PgBouncer) and opens its own TLS connection to the member behind HAProxy, checking the
 * member's certificate against the cluster CA and the HAProxy name it dials. client_tls_ca_file
 * only verifies client certificates (none are asked for), but without it libtls looks for the
 * system bundle, which the image lacks, and the TLS setup fails.
 */
function tlsSettings(tls: boolean): string {
  if (!tls) return '';
  return `client_tls_sslmode = require
client_tls_cert_file = ${PGBOUNCER_TLS.cert}
client_tls_key_file = ${PGBOUNCER_TLS.key}
client_tls_ca_file = ${PGBOUNCER_TLS.ca}
server_tls_sslmode = verify-full
server_tls_ca_file = ${PGBOUNCER_TLS.ca}
`;
}

export function renderPgbouncerIni(i: PgbouncerRenderInput): string {
  return `; Rendered by dbaas for cluster ${i.cluster}.
[databases]
* = host=${containerName(i.cluster, HAPROXY_MEMBER)} port=${i.backendPort}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = ${PGBOUNCER_PORT}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${PGBOUNCER_DIR}/userlist.txt
auth_user = ${POOLER_AUTH_USER}
; Passwords are looked up in the database (SCRAM secrets), never kept in a file here.
auth_query = SELECT usename, passwd FROM ${POOLER_LOOKUP_FUNCTION}($1)
pool_mode = transaction
max_client_conn = ${i.maxClientConn}
default_pool_size = ${i.defaultPoolSize}
reserve_pool_size = ${i.reservePoolSize}
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
server_check_query = select 1
; After a failed server login PgBouncer refuses every client for this long (default 15 s): a
; leader back after a failover or an in-place upgrade would stay unreachable through the pooler
; that much longer (bench/upgrade.md).
server_login_retry = 1
admin_users =
; The exporters' role may read SHOW STATS/POOLS/LISTS on the console (database pgbouncer), nothing else.
stats_users = ${MONITOR_USER}
${tlsSettings(i.tls)}`;
}

/**
 * The auth file holds the auth user's own credential (needed to run auth_query) and, when the
 * cluster has one, the monitor role's SCRAM verifier: the console database has no auth_query,
 * so its stats user logs in from here, and a verifier tells nothing of the password.
 */
export function renderPgbouncerUserlist(authPassword: string, monitorVerifier?: string): string {
  return `"${POOLER_AUTH_USER}" "${authPassword}"\n${monitorVerifier ? `"${MONITOR_USER}" "${monitorVerifier}"\n` : ''}`;
}

/** SQL that creates the auth user and the SECURITY DEFINER lookup over pg_authid (idempotent). */
export function poolerAuthSql(): string[] {
  return [
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${POOLER_AUTH_USER}') THEN CREATE ROLE ${POOLER_AUTH_USER} LOGIN; END IF; END $$`,
    'CREATE SCHEMA IF NOT EXISTS dbaas',
    `CREATE OR REPLACE FUNCTION ${POOLER_LOOKUP_FUNCTION}(p_user text, OUT usename name, OUT passwd text)
       RETURNS record LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
       $$ SELECT rolname, rolpassword FROM pg_authid WHERE rolname = p_user AND rolcanlogin $$`,
    // Made before dbaas by a role that may create in the database, the schema or the function would
    // keep that owner (IF NOT EXISTS, OR REPLACE), and the SECURITY DEFINER lookup would run as it.
    `ALTER SCHEMA dbaas OWNER TO ${SUPERUSER}`,
    `ALTER FUNCTION ${POOLER_LOOKUP_FUNCTION}(text) OWNER TO ${SUPERUSER}`,
    `REVOKE ALL ON FUNCTION ${POOLER_LOOKUP_FUNCTION}(text) FROM PUBLIC`,
    `GRANT USAGE ON SCHEMA dbaas TO ${POOLER_AUTH_USER}`,
    `GRANT EXECUTE ON FUNCTION ${POOLER_LOOKUP_FUNCTION}(text) TO ${POOLER_AUTH_USER}`,
  ];
}
