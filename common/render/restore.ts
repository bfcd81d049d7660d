/**
 * The one-shot restore of a new cluster's first member from another cluster's repository: the
 * shell script its helper container runs, and the SQL that gives the restored roles the new
 * cluster's passwords. Pure.
 *
 * Why a helper container and not Patroni's custom bootstrap: the source's repository then never
 * is mounted in a member of the new cluster (which would pin the source's volume for as long as
 * the member exists), and Patroni's bootstrap-then-restart cycle (about 5 s) is skipped: Patroni
 * starts on the recovered, promoted data directory and takes it over as the new cluster's leader.
 */
import { DEFAULT_DATABASE, REPLICATION_USER, REWIND_USER, SUPERUSER } from '../service-users';
import { DATA_DIR, type ClusterPasswords } from './patroni';
import { pgBinDir, type PostgresVersion } from '../postgres-version';
import { SOURCE_CONFIG_PATH } from './pgbackrest';

/** Where the role SQL is put in the helper container (mode 0600, postgres); the script deletes it. */
export const ROLES_SQL_PATH = '/tmp/dbaas-roles.sql';
/** The helper's own socket directory: nothing else may connect while it runs. */
const HELPER_SOCKET_DIR = '/tmp';

export interface RestoreRequest {
  sourceStanza: string;
  /** The major of the backup it restores: the helper is that version's image. */
  version: PostgresVersion;
  /** pgBackRest --target time; undefined restores to the end of the archived WAL (--latest). */
  targetTime?: string;
}

/**
 * pgbackrest restore into the (empty or partly restored: --delta) data directory, then recovery
 * to the target and promotion with archiving off (the source's stanza is read-only here, and
 * the new cluster's stanza does not exist yet) and hot_standby off, so the server accepts a
 * connection only once it has promoted. Then the roles get the new passwords, pgBackRest's recovery
 * settings leave postgresql.auto.conf, PostgreSQL stops cleanly for Patroni to take over, and
 * Patroni's cached copy of the source's DCS config goes.
 */
export function renderRestoreScript(r: RestoreRequest): string {
  const PG_BIN = pgBinDir(r.version);
  const target = r.targetTime === undefined ? [] : ['--type=time', `"--target=${r.targetTime}"`, '--target-action=promote'];
  const restore = [
    // The config names the source's repository and, if it is encrypted, its passphrase.
    'pgbackrest', `--stanza=${r.sourceStanza}`, `--config=${SOURCE_CONFIG_PATH}`, `--pg1-path=${DATA_DIR}`,
    '--process-max=2', '--delta', '--log-level-console=warn', ...target, 'restore',
  ].join(' ');
  // ssl=off: the restored postgresql.conf names the source member's certificate files, which the
  // helper has not got; it listens on no TCP address anyway.
  const options = `-c archive_mode=off -c hot_standby=off -c listen_addresses='' -c unix_socket_directories=${HELPER_SOCKET_DIR} -c ssl=off`;
  return [
    'set -eu',
    `${restore} || { echo "pgbackrest restore failed" >&2; exit 3; }`,
    // pg_ctl -w returns once recovery is consistent (it counts a standby as started) or fails if
    // the server dies first; connections are accepted only once it has promoted.
    `${PG_BIN}/pg_ctl -D ${DATA_DIR} -w -t 86400 -l /tmp/recovery.log -o "${options}" start >/dev/null ||` +
      ' { tail -n 20 /tmp/recovery.log >&2; echo "recovery did not reach its target" >&2; exit 4; }',
    `until psql -h ${HELPER_SOCKET_DIR} -d ${DEFAULT_DATABASE} -X -q -A -t -c 'select 1' >/dev/null 2>&1; do`,
    `  ${PG_BIN}/pg_ctl -D ${DATA_DIR} status >/dev/null || { tail -n 20 /tmp/recovery.log >&2; echo "recovery did not reach its target" >&2; exit 4; }`,
    '  sleep 0.1',
    'done',
    `psql -h ${HELPER_SOCKET_DIR} -d ${DEFAULT_DATABASE} -X -q -v ON_ERROR_STOP=1 -f ${ROLES_SQL_PATH} || exit 5`,
    `rm -f ${ROLES_SQL_PATH}`,
    `${PG_BIN}/pg_ctl -D ${DATA_DIR} -m fast -w -t 600 stop >/dev/null`,
    // Recovery's restore_command read WAL with it until now; the stopped helper must not keep it.
    `rm -f ${SOURCE_CONFIG_PATH}`,
    // Patroni caches the DCS config in the data directory and would take the source's (its
    // profile, its stanza's archive_command) into the new cluster's DCS: the new cluster's
    // bootstrap config must win.
    `rm -f ${DATA_DIR}/patroni.dynamic.json`,
    'echo restored',
  ].join('\n');
}

/** pgBackRest writes these into postgresql.auto.conf; once promoted they must not steer the new cluster. */
const RECOVERY_SETTINGS = [
  'restore_command', 'recovery_target', 'recovery_target_time', 'recovery_target_action', 'recovery_target_timeline',
  'recovery_target_lsn', 'recovery_target_name', 'recovery_target_xid', 'recovery_target_inclusive',
];

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * The roles Patroni logs in with, with the new cluster's passwords (the restored catalog has the
 * source's). The pooler and app roles are set later by their own steps, as for any cluster.
 */
export function renderRolesSql(p: ClusterPasswords): string {
  return [
    `ALTER ROLE ${SUPERUSER} PASSWORD ${literal(p.superuser)};`,
    `ALTER ROLE ${REPLICATION_USER} PASSWORD ${literal(p.replication)};`,
    `ALTER ROLE ${REWIND_USER} PASSWORD ${literal(p.rewind)};`,
    ...RECOVERY_SETTINGS.map((s) => `ALTER SYSTEM RESET ${s};`),
    '',
  ].join('\n');
}
