/**
 * The repository host's files, rendered from typed inputs (`pgbackrest server` over TLS, no SSH). Pure.
 *
 * pgBackRest requires one version at both ends of its protocol, so a stanza's server and root's
 * commands for it run the pgBackRest of its cluster's members: 2.45 for PostgreSQL 15 (bookworm's
 * binary, beside trixie's), 2.55 for 17. A major upgrade moves the stanza to the newer one.
 *
 * The host keeps one stanza per cluster and protects each from the others and from its own
 * cluster's members (measured in test/integration/repository-host-backups.test.ts):
 * - each stanza has its own `pgbackrest server`, run as a Unix user of its own (uid = gid), on a
 *   port of its own, with a config that names only its stanza and authorizes one client CN: the
 *   cluster's members push WAL and restore through it, and can reach nothing else;
 * - root, the host's "backup user", runs stanza-create, check, backup and expire with a config
 *   per stanza that reaches the members' own TLS servers (pg1-host, pg2-host);
 * - backup/<stanza> is root:<stanza> 2750 (the server reads backups, writes none) and
 *   archive/<stanza> root:<stanza> 3770 (setgid, sticky): the server adds WAL, and cannot remove
 *   or replace what root made or has sealed (chown root after every backup);
 * - pgBackRest 2.45 makes files 0640 and directories 0750 whatever the umask, so only root can
 *   expire: that is why the backups run as root and not as a group "backup user".
 */
import type { PostgresVersion } from '../../common/postgres-version';
import { DATA_DIR, SOCKET_DIR } from '../../common/render/image-paths';
import {
  BACKUP_SERVER_PORT, PGBACKREST_CONFIG_DIR, PGBACKREST_LOCK_PATH, PGBACKREST_LOG_PATH, REPO_PATH, REPOSITORY_CIPHER, type Retention,
} from '../../common/render/pgbackrest';

/** The repository, on the host's own volume. */
export const HOST_REPO_PATH = REPO_PATH;
/** Per stanza: its server's directory (0700, the server's user) and root's (0700, root). */
export const serverDir = (stanza: string): string => `${PGBACKREST_CONFIG_DIR}/servers/${stanza}`;
export const rootDir = (stanza: string): string => `${PGBACKREST_CONFIG_DIR}/root/${stanza}`;
export const rootConfigPath = (stanza: string): string => `${rootDir(stanza)}/pgbackrest.conf`;
/** The loop that keeps a stanza's server running, put in the host's container (not secret). */
export const SERVE_SCRIPT = '/usr/local/bin/dbaas-serve-stanza';
/**
 * The container's main command: every stanza's server, then nothing to do but stay up (tini is
 * PID 1). Pid files of an earlier run of the container name pids of another PID namespace: gone first.
 */
export const HOST_COMMAND = ['sh', '-c', `rm -f /run/dbaas-serve-*.pid; for d in ${PGBACKREST_CONFIG_DIR}/servers/*/; do [ -f "$d/pgbackrest.conf" ] && ${SERVE_SCRIPT} "$(basename "$d")"; done; exec sleep infinity`];

/** A stanza's server: its Unix user and its port on the repository host, and the major of its cluster (which pgBackRest serves it). */
export interface StanzaServer {
  stanza: string;
  uid: number;
  port: number;
  version: PostgresVersion;
}

/** The pgBackRest of a major's members, on the repository host (docker/backup/Dockerfile). */
const PGBACKREST_BINARIES: Record<PostgresVersion, string> = { 15: '/opt/pgbackrest-2.45/pgbackrest', 17: '/usr/bin/pgbackrest' };
export const pgbackrestBinary = (v: PostgresVersion): string => PGBACKREST_BINARIES[v];
/** Root's file naming the binary the stanza's server runs: SERVE_SCRIPT reads it at each start of the server. */
export const SERVER_BINARY_FILE = 'server-binary';

export interface TlsPaths { cert: string; key: string; ca: string }
/** TLS files in a directory: certificate, key (0600), the CA that checks the other side. */
export const tlsIn = (dir: string): TlsPaths => ({ cert: `${dir}/tls.crt`, key: `${dir}/tls.key`, ca: `${dir}/tls-ca.crt` });
/** A client's files to reach a stanza's server, named by a path prefix (Docker puts files only into directories that exist). */
export const clientTlsAt = (prefix: string): TlsPaths => ({ cert: `${prefix}client.crt`, key: `${prefix}client.key`, ca: `${prefix}ca.crt` });

/**
 * The CN of the certificate a cluster's members (and a restore from its backups) present to the
 * stanza's server: the one client it authorizes. Issued by the repository host's authority, so
 * it outlives the cluster's own CA (a deleted cluster's backups are restored with it).
 */
export const repositoryClientName = (stanza: string): string => `dbaas-${stanza}-repository-client`;

/**
 * Names go into `key=value` lines and tls-server-auth's `CN=stanza`: a newline would add lines,
 * and '=', ',' or a space would change what is authorized. Refuse anything else.
 */
const CONFIG_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
function token(what: string, value: string): string {
  if (!CONFIG_TOKEN.test(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot go into pgbackrest.conf`);
  return value;
}

const cipherLines = (cipherPass: string | undefined): string[] =>
  cipherPass === undefined ? [] : [`repo1-cipher-type=${REPOSITORY_CIPHER}`, `repo1-cipher-pass=${cipherPass}`];

/**
 * The stanza server's config: the repository, a TLS server for the one client CN, and the
 * stanza's passphrase (the repository side encrypts what the members push; a member never has it
 * in its own config, but can ask its server for this file: the server's user owns it).
 */
export function renderStanzaServerConfig(s: StanzaServer, cipherPass: string | undefined): string {
  const tls = tlsIn(serverDir(s.stanza));
  return [
    '# Rendered by dbaas. Do not edit: dbaas rewrites it.',
    '[global]',
    `repo1-path=${HOST_REPO_PATH}`,
    'log-level-console=off',
    'log-level-file=off',
    `lock-path=/tmp/pgbackrest-${token('stanza', s.stanza)}`,
    'tls-server-address=*',
    `tls-server-port=${s.port}`,
    `tls-server-cert-file=${tls.cert}`,
    `tls-server-key-file=${tls.key}`,
    `tls-server-ca-file=${tls.ca}`,
    `tls-server-auth=${repositoryClientName(s.stanza)}=${s.stanza}`,
    '',
    `[${s.stanza}]`,
    ...cipherLines(cipherPass),
    '',
  ].join('\n');
}

export interface RootStanzaConfig {
  stanza: string;
  /** The members pgBackRest reaches (container names): the leader first, then the standby to read from. None for info and purge. */
  pgHosts: string[];
  /** Read the data files from the second pg host (backup-standby=y). */
  backupStandby: boolean;
  retention: Retention;
  cipherPass: string | undefined;
}

/** `option=value` for each member root reaches as pg1, pg2, … over TLS with root's files for the stanza (a config's lines; with `--`, a command line's). */
export function pgHostLines(stanza: string, pgHosts: string[]): string[] {
  const tls = tlsIn(rootDir(stanza));
  return pgHosts.flatMap((host, i) => {
    const pg = `pg${i + 1}`;
    return [
      `${pg}-host=${token('member', host)}`,
      `${pg}-host-type=tls`,
      `${pg}-host-port=${BACKUP_SERVER_PORT}`,
      `${pg}-host-cert-file=${tls.cert}`,
      `${pg}-host-key-file=${tls.key}`,
      `${pg}-host-ca-file=${tls.ca}`,
      `${pg}-path=${DATA_DIR}`,
      `${pg}-socket-path=${SOCKET_DIR}`,
    ];
  });
}

/** Root's config for one stanza: the repository, the members' TLS servers (root's client certificate is the cluster's backup peer), retention, passphrase. */
export function renderRootStanzaConfig(c: RootStanzaConfig): string {
  const hosts = pgHostLines(c.stanza, c.pgHosts);
  return [
    '# Rendered by dbaas. Do not edit: dbaas rewrites it.',
    '[global]',
    `repo1-path=${HOST_REPO_PATH}`,
    `log-path=${PGBACKREST_LOG_PATH}`,
    `lock-path=${PGBACKREST_LOCK_PATH}`,
    'log-level-console=info',
    'log-level-file=info',
    'compress-type=lz4',
    'process-max=2',
    // A backup starts with an immediate checkpoint instead of waiting for a spread one.
    'start-fast=y',
    '',
    `[${token('stanza', c.stanza)}]`,
    ...hosts,
    `backup-standby=${c.backupStandby ? 'y' : 'n'}`,
    `repo1-retention-full=${c.retention.full}`,
    ...(c.retention.diff !== undefined ? [`repo1-retention-diff=${c.retention.diff}`] : []),
    ...cipherLines(c.cipherPass),
    '',
  ].join('\n');
}

/** Directories and modes for the stanza (run as root; idempotent: install -d sets them again). */
export function stanzaLayoutScript(s: StanzaServer): string {
  const stanza = token('stanza', s.stanza);
  return [
    'set -e',
    `install -d -o 0 -g 0 -m 0711 ${PGBACKREST_CONFIG_DIR} ${PGBACKREST_CONFIG_DIR}/servers ${HOST_REPO_PATH} ${HOST_REPO_PATH}/backup ${HOST_REPO_PATH}/archive`,
    `install -d -o 0 -g 0 -m 0700 ${PGBACKREST_CONFIG_DIR}/root ${rootDir(stanza)} ${PGBACKREST_LOG_PATH}`,
    `install -d -o ${s.uid} -g ${s.uid} -m 0700 ${serverDir(stanza)}`,
    `install -d -o 0 -g ${s.uid} -m 2750 ${HOST_REPO_PATH}/backup/${stanza}`,
    `install -d -o 0 -g ${s.uid} -m 3770 ${HOST_REPO_PATH}/archive/${stanza}`,
  ].join('\n');
}

/** pgBackRest writes a file as NAME.pgbackrest.tmp, then renames it. */
export const PGBACKREST_TEMP_SUFFIX = '.pgbackrest.tmp';

/**
 * What the stanza's server has archived becomes root's: it may still add WAL (group write on
 * setgid, sticky directories), never replace or remove what is sealed. After every backup.
 *
 * A push still in flight is left alone: in a sticky directory only a file's owner may rename it.
 * A temporary file sealed under a push failed it, stayed root's, and every retry of that segment
 * failed to open the same name: the archiver stood still behind it for good. Such a file (from a
 * seal before this one knew) is removed: it is never a finished segment.
 */
export function sealArchiveScript(stanza: string): string {
  const dir = `${HOST_REPO_PATH}/archive/${token('stanza', stanza)}`;
  const temp = `-name '*${PGBACKREST_TEMP_SUFFIX}'`;
  return `find ${dir} ${temp} -user 0 -delete; find ${dir} ! ${temp} ! -user 0 -exec chown 0 {} + && find ${dir} -type d -exec chmod 3770 {} +`;
}

/**
 * SERVE_SCRIPT: keep one stanza's server running as its user (the owner of its directory), once:
 * a second call while the loop lives does nothing. Its pid file is root's, in /run.
 */
export const SERVE_SCRIPT_TEXT = [
  '#!/bin/sh',
  '# Rendered by dbaas: keeps one stanza\'s pgbackrest server running as the stanza\'s own user.',
  'set -eu',
  'stanza="$1"',
  `dir="${PGBACKREST_CONFIG_DIR}/servers/$stanza"`,
  'pidfile="/run/dbaas-serve-$stanza.pid"',
  'if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi',
  'uid="$(stat -c %u "$dir")"',
  `binary_file="${PGBACKREST_CONFIG_DIR}/root/$stanza/${SERVER_BINARY_FILE}"`,
  // A server of this user that the loop did not start (a purged stanza's that outlived its purge,
  // under the same uid and port) would answer in its place with another stanza's config.
  'setpriv --reuid="$uid" --regid="$uid" --clear-groups sh -c "kill -9 -1" 2>/dev/null || true',
  '(',
  '  while [ -f "$dir/pgbackrest.conf" ]; do',
  // Read at each start: a stanza moved to another pgBackRest (a major upgrade) gets it once its processes end.
  '    binary="$(cat "$binary_file" 2>/dev/null || echo pgbackrest)"',
  '    PGBACKREST_CONFIG="$dir/pgbackrest.conf" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$binary" server || true',
  '    sleep 1',
  '  done',
  ') </dev/null >/dev/null 2>&1 &',
  'echo $! > "$pidfile"',
  '',
].join('\n');

/**
 * Stop the stanza's server for good: its loop first, then every process of its user (kill -1 as
 * that user reaches only its own processes).
 */
export function stopServerScript(s: StanzaServer): string {
  const stanza = token('stanza', s.stanza);
  return [
    `pidfile=/run/dbaas-serve-${stanza}.pid`,
    '[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true',
    'rm -f "$pidfile"',
    endServerProcessesScript(s),
  ].join('\n');
}

/**
 * Every process of the stanza's user ends (kill -1 as that user reaches only its own): with its
 * loop alive, the loop starts the server again within a second, on the files it finds then.
 */
export const endServerProcessesScript = (s: StanzaServer): string =>
  `setpriv --reuid=${s.uid} --regid=${s.uid} --clear-groups sh -c "kill -9 -1" 2>/dev/null || true`;

/** Everything of the stanza on the host: its backups, WAL, server and root config. */
export function purgeStanzaScript(s: StanzaServer): string {
  const stanza = token('stanza', s.stanza);
  return [
    stopServerScript(s),
    `rm -rf ${HOST_REPO_PATH}/backup/${stanza} ${HOST_REPO_PATH}/archive/${stanza} ${serverDir(stanza)} ${rootDir(stanza)} /tmp/pgbackrest-${stanza}`,
  ].join('\n');
}
