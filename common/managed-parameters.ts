/**
 * PostgreSQL parameters that Patroni or dbaas set themselves, with the reason each is refused (or
 * limited) for `cluster config set|unset`. Decided per parameter from what dbaas renders
 * (common/render/patroni.ts: patroni.yml and the bootstrap DCS parameters, archiveParameters) and
 * what Patroni 3.0.2/4.0 own (their CMDLINE_OPTIONS and recovery settings). Pure.
 */
import { LOGICAL_REPLICATION_WORKERS } from './logical-replication';
import { PARSED_LINE_PREFIXES, keepsLinePrefix } from './log-lines';
import { parseBool, parseValue, type PgSetting } from './parameter-values';

export interface ManagedParameter {
  /** One line: why dbaas refuses or limits it. */
  reason: string;
  /** Plumbing: left out of `cluster config` (nothing to tune, nothing a DBA reads there). */
  hidden?: boolean;
  /** The values that may be set (wal_level=logical); absent: none. */
  allows?: (value: string) => boolean;
  /** With `allows` or `atLeast`: unset is allowed too (back to PostgreSQL's or Patroni's default). */
  unsetAllowed?: boolean;
  /** The least value (in any unit the parameter takes); unset is refused unless `unsetAllowed` (the default is below). */
  atLeast?: string;
}

/** Libraries the member image ships (PostgreSQL's contrib) that may be preloaded; any other stops PostgreSQL from starting. */
export const PRELOADABLE_LIBRARIES = ['pg_stat_statements', 'auto_explain'];

/** Every library in the list is preloadable ('' too: none). */
function preloadable(value: string): boolean {
  const libs = value.split(',').map((l) => l.trim().replace(/^"(.*)"$/, '$1').replace(/^\$libdir\//, '')).filter((l) => l !== '');
  return libs.every((l) => PRELOADABLE_LIBRARIES.includes(l));
}

const PRELOAD: ManagedParameter = {
  reason: `only libraries the member image ships may be preloaded (${PRELOADABLE_LIBRARIES.join(', ')}); a missing one keeps PostgreSQL from starting`,
  allows: preloadable,
  unsetAllowed: true,
};

/** A log_destination that names stderr alone (once or more, in any case, quoted or not). */
function stderrOnly(value: string): boolean {
  const destinations = value.split(',').map((d) => d.trim().replace(/^"(.*)"$/, '$1').toLowerCase()).filter((d) => d !== '');
  return destinations.length > 0 && destinations.every((d) => d === 'stderr');
}

/**
 * `dbaas logs` (and `docker logs`) read PostgreSQL's lines from the member container's stderr,
 * which Patroni started PostgreSQL with: what moves them elsewhere loses them there.
 */
const LOGS_ON_STDERR = "`dbaas logs` reads PostgreSQL's lines from the member container's stderr";

/**
 * What dbaas renders (BASE_PARAMETERS in common/render/patroni.ts, which workflows must not import:
 * it pulls in the YAML writer; test/unit/parameters.test.ts keeps the two equal).
 */
export const RENDERED_FLOORS = { max_wal_senders: 20, max_replication_slots: 20, max_worker_processes: 16, max_logical_replication_workers: LOGICAL_REPLICATION_WORKERS };

const floor = (name: keyof typeof RENDERED_FLOORS, why: string): ManagedParameter => ({ reason: `${why} (dbaas sets ${RENDERED_FLOORS[name]})`, atLeast: String(RENDERED_FLOORS[name]) });

const RECOVERY: ManagedParameter = { reason: 'Patroni writes the recovery settings of each member itself', hidden: true };
const PATRONI_FILES: ManagedParameter = { reason: "Patroni's own files in the data directory", hidden: true };

export const MANAGED_PARAMETERS: Record<string, ManagedParameter> = {
  port: { reason: "Patroni sets it from patroni.yml; HAProxy, PgBouncer and the replicas reach PostgreSQL on 5432", hidden: true },
  listen_addresses: { reason: 'Patroni sets it from patroni.yml; the members must stay reachable on the cluster network', hidden: true },
  unix_socket_directories: { reason: "set in patroni.yml: Patroni and dbaas's own psql reach PostgreSQL through that socket", hidden: true },
  cluster_name: { reason: "Patroni sets it to the cluster's scope", hidden: true },
  data_directory: PATRONI_FILES,
  config_file: PATRONI_FILES,
  hba_file: PATRONI_FILES,
  ident_file: PATRONI_FILES,
  archive_command: { reason: "dbaas sets it to pgBackRest's archive-push (`backup enable`); another command breaks WAL archiving and point-in-time restore", hidden: true },
  archive_library: { reason: "dbaas archives WAL with pgBackRest's archive_command; an archive library takes its place and breaks point-in-time restore", hidden: true },
  unix_socket_permissions: { reason: "dbaas's own psql and Patroni reach PostgreSQL through its socket", hidden: true },
  unix_socket_group: { reason: "dbaas's own psql and Patroni reach PostgreSQL through its socket", hidden: true },
  dynamic_library_path: { reason: 'where PostgreSQL loads extensions and libraries from: the image decides it' },
  archive_mode: { reason: 'dbaas turns it on with the backups (`backup enable`); off would stop WAL archiving' },
  restore_command: RECOVERY,
  primary_conninfo: RECOVERY,
  primary_slot_name: RECOVERY,
  recovery_end_command: RECOVERY,
  archive_cleanup_command: RECOVERY,
  promote_trigger_file: RECOVERY,
  recovery_target: RECOVERY,
  wal_level: {
    reason: 'blue-green upgrades replicate logically, so dbaas runs logical; only wal_level=logical may be set (for clusters made with replica)',
    allows: (v) => v.trim().toLowerCase() === 'logical',
  },
  hot_standby: { reason: 'the replicas serve reads through ro; Patroni keeps it on' },
  wal_log_hints: { reason: "pg_rewind needs it on (Patroni's use_pg_rewind rejoins an old leader)" },
  full_page_writes: { reason: "pg_rewind needs it on (Patroni's use_pg_rewind rejoins an old leader)" },
  max_wal_senders: floor('max_wal_senders', "the replicas' and a blue-green upgrade's WAL senders need that many"),
  max_replication_slots: floor('max_replication_slots', "the replicas' and a blue-green upgrade's slots need that many"),
  max_worker_processes: floor('max_worker_processes', "a blue-green upgrade's apply and table-sync workers need that many"),
  max_logical_replication_workers: floor('max_logical_replication_workers', "a blue-green upgrade's apply and table-sync workers need that many"),
  max_connections: { reason: 'Patroni replaces a value below 25 with its default', atLeast: '25', unsetAllowed: true },
  max_locks_per_transaction: { reason: 'Patroni replaces a value below 32 with its default', atLeast: '32', unsetAllowed: true },
  wal_keep_size: { reason: 'Patroni replaces a value below 16MB with its default', atLeast: '16MB', unsetAllowed: true },
  // Refused rather than given a floor: how far a slot falls behind depends on the writes while a
  // replica is down or a blue-green upgrade copies (its initial copy can take hours), not on a size
  // dbaas could name; past the limit PostgreSQL invalidates the slot for good. Disk use is watched instead.
  max_slot_wal_keep_size: {
    reason: "a replica's or a blue-green upgrade's slot that falls further behind is invalidated: the replica stops streaming until it is rebuilt, the upgrade's copy breaks; dbaas keeps it unlimited (-1)",
    allows: (v) => v.trim() === '-1',
    unsetAllowed: true,
  },
  synchronous_standby_names: { reason: 'Patroni sets it from its synchronous mode: `dbaas cluster set-sync`' },
  password_encryption: { reason: "set in patroni.yml (a DCS value would not apply): dbaas's roles and PgBouncer's auth_query use SCRAM" },
  ssl: { reason: 'dbaas turns TLS on for clusters made with it, in patroni.yml (a DCS value would not apply)' },
  ssl_: {
    reason: "dbaas issues and rotates the members' certificates (`cluster rotate-certs`); the members', PgBouncer's and pgBackRest's TLS connections must keep agreeing",
    hidden: true,
  },
  logging_collector: {
    reason: `${LOGS_ON_STDERR}; the collector would write them to files inside the data directory instead (dbaas keeps it off)`,
    allows: (v) => parseBool(v) === false,
    unsetAllowed: true,
  },
  log_destination: {
    reason: `${LOGS_ON_STDERR}; csvlog and jsonlog need the collector, and no syslog runs in the member (dbaas keeps stderr)`,
    allows: stderrOnly,
    unsetAllowed: true,
  },
  log_line_prefix: {
    reason: `${LOGS_ON_STDERR} and tells them from Patroni's by their prefix: it must begin with ${PARSED_LINE_PREFIXES.map((p) => `'${p}'`).join(' or ')}, as '%m [%p] %q%u@%d ' does`,
    allows: keepsLinePrefix,
    unsetAllowed: true,
  },
  shared_preload_libraries: PRELOAD,
  session_preload_libraries: PRELOAD,
  local_preload_libraries: PRELOAD,
};

/** Names matched by prefix (ssl_cert_file, recovery_target_time…). */
const PREFIXES = ['ssl_', 'recovery_target'];

export function managedParameter(name: string): ManagedParameter | undefined {
  const n = name.toLowerCase();
  const prefix = PREFIXES.find((p) => n.startsWith(p));
  return MANAGED_PARAMETERS[n] ?? (prefix ? MANAGED_PARAMETERS[prefix] : undefined);
}

/** Why dbaas refuses to set (value) or unset (null) this parameter, or undefined; a floor is checked by floorProblem. */
export function managedProblem(name: string, value: string | null): string | undefined {
  const m = managedParameter(name);
  if (!m) return undefined;
  if (m.atLeast !== undefined) return value === null && !m.unsetAllowed ? `${name} cannot be unset: ${m.reason}` : undefined;
  if (m.allows && (value === null ? m.unsetAllowed : m.allows(value))) return undefined;
  return `${name} ${value === null ? 'cannot be unset' : m.allows ? `cannot be set to "${value}"` : 'cannot be set'}: ${m.reason}`;
}

/** A value below the parameter's floor (compared in the row's unit), or undefined. */
export function floorProblem(row: PgSetting, value: string): string | undefined {
  const m = managedParameter(row.name);
  if (m?.atLeast === undefined) return undefined;
  const [have, least] = [parseValue(row, value), parseValue(row, m.atLeast)];
  if ('problem' in have || 'problem' in least) return undefined;
  return Number(have.setting) < Number(least.setting) ? `${row.name} must be at least ${m.atLeast}: ${m.reason}` : undefined;
}

/** Left out of `cluster config`: Patroni's and dbaas's plumbing. */
export const hiddenFromView = (name: string): boolean => managedParameter(name)?.hidden === true;

/**
 * What Patroni passes on the command line when the DCS has no value (its CMDLINE_OPTIONS
 * defaults), for the parameters that may be unset: what a member shows after `config unset`.
 */
export const PATRONI_COMMAND_LINE_DEFAULTS: Record<string, string> = {
  max_connections: '100',
  max_locks_per_transaction: '64',
  max_prepared_transactions: '0',
  track_commit_timestamp: 'off',
  wal_keep_size: '128MB',
};
