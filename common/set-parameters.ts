/**
 * `cluster config set|unset`: input, result and the decisions about it as pure functions of what
 * the members' pg_settings show. Shared by the CLI (refuse early, one line, exit 2), the
 * SetParameters workflow (the authority: it checks the input's shape before any activity and the
 * values against the leader's pg_settings under the lease) and the wait for the members.
 */
import { namesProblem } from './input-checks';
import { PATRONI_COMMAND_LINE_DEFAULTS, floorProblem, managedProblem } from './managed-parameters';
import { parseValue, setByAlterSystem, setByPatroni, showsValue, type PgSetting } from './parameter-values';

export interface ParameterChange {
  /** Lower case, as pg_settings and Patroni's DCS keep most names. */
  name: string;
  /** null: unset (the DCS key goes; the member falls back to its default). */
  value: string | null;
}

export const RESTART_MODES = ['rolling', 'none'] as const;
export type RestartMode = (typeof RESTART_MODES)[number];

export interface SetParametersInput {
  cluster: string;
  changes: ParameterChange[];
  /** rolling: restart the members that wait for one (RestartCluster, onlyPending), one switchover. */
  restart: RestartMode;
}

/** applied: every running member runs with it; pending restart: some wait for a restart; restarted: they got it. */
export type ParameterOutcome = 'applied' | 'pending restart' | 'restarted';

export interface ParameterResult {
  name: string;
  value: string | null;
  outcome: ParameterOutcome;
  /** Members that still wait for a restart to run with it. */
  pendingOn: string[];
  /** Members the rolling restart gave it to. */
  restartedOn: string[];
}

export interface SetParametersResult {
  cluster: string;
  parameters: ParameterResult[];
  /** Members the rolling restart restarted, in order (none without one). */
  restarted: string[];
  /** Members whose container is stopped: they start with the DCS values. */
  notRunning: string[];
  switchover?: { from: string; to: string };
  /** The rolling restart's line about writes, when it ran. */
  writeDowntime?: string;
  /**
   * Without a rolling restart: decreases that apply only once the leader restarts first (see
   * PRIMARY_BOUNDS_REPLICAS); `cluster restart` (whole cluster) then restarts the leader first too.
   */
  leaderFirst?: string[];
  /** The poolers' pools once a change of the connection slots was written (workflows/pooler-sizes.ts). */
  pooler?: string;
}

/** Per running member: the changes it runs with, and those that wait for its restart. */
export interface MemberParameters {
  member: string;
  applied: string[];
  pending: string[];
}

export interface ParametersSeen {
  members: MemberParameters[];
  notRunning: string[];
}

/** A value the members' server refused on reload (the wait's final failure; the workflow puts the previous values back). */
export const PARAMETER_REJECTED = 'ParameterRejected';
/** The rolling restart failed after the write: the workflow put the previous values back on every member, and fails with this. */
export const PARAMETERS_PUT_BACK = 'ParametersPutBack';

/** Read beside the changed parameters: PostgreSQL refuses to start when the reserved connections take every slot. */
export const CONNECTION_SLOTS = ['max_connections', 'superuser_reserved_connections', 'reserved_connections'];

/** The pg_settings rows changeProblems needs for these changes. */
export const settingsToRead = (names: string[]): string[] => [...new Set([...names, ...CONNECTION_SLOTS])];

const NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const MAX_CHANGES = 64;
const MAX_VALUE = 4096;

export function parameterNameProblem(name: unknown): string | undefined {
  return typeof name === 'string' && name.length <= 127 && NAME.test(name) ? undefined : `parameter names look like work_mem or pg_stat_statements.max, got ${JSON.stringify(name)}`;
}

/** `KEY=VALUE` (unset: `KEY`) from the command line; the name in lower case. */
export function parseAssignment(arg: string, unset = false): ParameterChange | { problem: string } {
  const at = arg.indexOf('=');
  if (unset ? at >= 0 : at <= 0) return { problem: unset ? `expected a parameter name, got "${arg}"` : `expected KEY=VALUE, got "${arg}"` };
  const name = (unset ? arg : arg.slice(0, at)).trim().toLowerCase();
  const problem = parameterNameProblem(name);
  return problem ? { problem } : { name, value: unset ? null : arg.slice(at + 1) };
}

/** Why this input is no request dbaas would make, or undefined (before any activity, without pg_settings). */
export function setParametersInputProblem(i: SetParametersInput): string | undefined {
  if (typeof i !== 'object' || i === null) return 'the input must be an object {cluster, changes, restart}';
  const names = namesProblem({ clusters: [i.cluster] });
  if (names) return names;
  if (!RESTART_MODES.includes(i.restart)) return `restart must be one of ${RESTART_MODES.join(', ')}, got ${JSON.stringify(i.restart)}`;
  if (!Array.isArray(i.changes) || i.changes.length === 0 || i.changes.length > MAX_CHANGES) return `changes must list 1 to ${MAX_CHANGES} parameters`;
  const seen = new Set<string>();
  for (const c of i.changes) {
    const problem = parameterNameProblem(c?.name) ?? valueShapeProblem(c.value) ?? managedProblem(c.name, c.value);
    if (problem) return problem;
    if (seen.has(c.name)) return `${c.name} is named twice`;
    seen.add(c.name);
  }
  return undefined;
}

function valueShapeProblem(v: unknown): string | undefined {
  if (v === null) return undefined;
  return typeof v === 'string' && v.length <= MAX_VALUE ? undefined : `a value must be a string of at most ${MAX_VALUE} characters (or null to unset)`;
}

/**
 * Every reason the leader's pg_settings refuse these changes: unknown name, managed, wrong type,
 * enum value, range or unit, below a floor, overridden by ALTER SYSTEM, or connection slots that
 * PostgreSQL would refuse to start with.
 */
export function changeProblems(changes: ParameterChange[], settings: PgSetting[]): string[] {
  const rows = new Map(settings.map((s) => [s.name.toLowerCase(), s]));
  const problems: string[] = [];
  for (const c of changes) {
    const row = rows.get(c.name);
    const managed = managedProblem(c.name, c.value);
    if (!row) problems.push(`unknown parameter "${c.name}"`);
    else if (managed) problems.push(managed);
    else if (setByAlterSystem(row)) problems.push(`${c.name} is set with ALTER SYSTEM on the leader, which wins over Patroni's file: ALTER SYSTEM RESET ${c.name} first`);
    else if (c.value !== null) {
      const p = parseValue(row, c.value);
      const problem = 'problem' in p ? p.problem : floorProblem(row, c.value);
      if (problem) problems.push(problem);
    }
  }
  const slots = connectionSlotsProblem(changes, rows);
  return problems.length > 0 || !slots ? problems : [slots];
}

/**
 * What the parameter will be once the changes apply, in the row's unit: the new value, for an
 * unset one Patroni's command-line default or else PostgreSQL's own (boot_val), and the current
 * setting where the changes leave it alone. undefined: not known (no row, or a value that does not parse).
 */
function valueAfter(name: string, changes: ParameterChange[], rows: Map<string, PgSetting>): number | undefined {
  const row = rows.get(name);
  if (!row) return undefined;
  const c = changes.find((x) => x.name === name);
  if (!c) return Number(row.setting);
  const raw = c.value ?? PATRONI_COMMAND_LINE_DEFAULTS[name] ?? row.boot_val ?? undefined;
  if (raw === undefined) return undefined;
  const p = parseValue(row, raw);
  return 'problem' in p ? undefined : Number(p.setting);
}

/** PostgreSQL does not start when the reserved connections take every slot. */
function connectionSlotsProblem(changes: ParameterChange[], rows: Map<string, PgSetting>): string | undefined {
  const max = valueAfter('max_connections', changes, rows);
  const reserved = (valueAfter('superuser_reserved_connections', changes, rows) ?? 0) + (valueAfter('reserved_connections', changes, rows) ?? 0);
  return max !== undefined && reserved >= max
    ? `superuser_reserved_connections + reserved_connections (${reserved}) must stay below max_connections (${max}), or PostgreSQL does not start`
    : undefined;
}

/**
 * Parameters a replica runs at least at its primary's value: PostgreSQL's hot standby refuses to
 * start below what the primary recorded in the WAL, so Patroni starts a replica with the primary's
 * value instead and flags it pending_restart (its effective_configuration). A decrease takes effect
 * only once the leader runs with it; a roll that restarts the replicas first never gets there.
 */
export const PRIMARY_BOUNDS_REPLICAS = ['max_connections', 'max_prepared_transactions', 'max_locks_per_transaction', 'max_worker_processes', 'max_wal_senders'];

/** The changes that lower one of those below what the leader runs (`settings`: the leader's rows): the leader must restart with them first. */
export function leaderFirstChanges(changes: ParameterChange[], settings: PgSetting[]): string[] {
  const rows = new Map(settings.map((s) => [s.name.toLowerCase(), s]));
  return changes.filter((c) => {
    const row = rows.get(c.name);
    const after = valueAfter(c.name, changes, rows);
    return PRIMARY_BOUNDS_REPLICAS.includes(c.name) && row !== undefined && after !== undefined && after < Number(row.setting);
  }).map((c) => c.name);
}

/** The values as they go to Patroni (on/off, the enum's spelling, a plain integer as a number); call after changeProblems found none. */
export function normalizedChanges(changes: ParameterChange[], settings: PgSetting[]): ParameterChange[] {
  return changes.map((c) => {
    const row = settings.find((s) => s.name.toLowerCase() === c.name);
    const p = row && c.value !== null ? parseValue(row, c.value) : undefined;
    return p && !('problem' in p) ? { name: c.name, value: p.value } : c;
  });
}

export type MemberState = 'applied' | 'pending' | 'waiting';

/**
 * Where one member is with one change. `patroniPending`: Patroni's pending_restart for the member,
 * the only sign for the parameters Patroni passes on the command line (pg_settings does not flag
 * those). An unset parameter is applied once Patroni's postgresql.conf no longer sets it.
 * `serverSpelling`: how the server itself spells the value (spelledByServer), which it shows once it runs with it.
 */
export function memberState(row: PgSetting | undefined, c: ParameterChange, patroniPending: boolean, serverSpelling?: string): MemberState {
  if (!row) return 'waiting';
  // PostgreSQL flags it at the reload, Patroni at its next loop; the rolling restart restarts the
  // members Patroni flags, so a member counts as pending once both do.
  if (row.pending_restart) return patroniPending ? 'pending' : 'waiting';
  const onCommandLine = row.source === 'command line';
  const want = c.value ?? (onCommandLine ? PATRONI_COMMAND_LINE_DEFAULTS[c.name] : undefined);
  const applied = want === undefined
    ? onCommandLine || !setByPatroni(row)
    : showsValue(row, want) || (serverSpelling !== undefined && showsValue(row, serverSpelling));
  if (applied) return 'applied';
  return onCommandLine && patroniPending ? 'pending' : 'waiting';
}

/** Each change's outcome: `before` as seen after the write, `after` after the rolling restart (if it ran). */
export function parameterResults(changes: ParameterChange[], before: ParametersSeen, after: ParametersSeen | undefined, restarted: string[]): ParameterResult[] {
  const pendingIn = (seen: ParametersSeen, name: string): string[] => seen.members.filter((m) => m.pending.includes(name)).map((m) => m.member);
  return changes.map((c) => {
    const waited = pendingIn(before, c.name);
    const pendingOn = pendingIn(after ?? before, c.name);
    const restartedOn = after ? waited.filter((m) => restarted.includes(m)) : [];
    const outcome: ParameterOutcome = pendingOn.length > 0 ? 'pending restart' : restartedOn.length > 0 ? 'restarted' : 'applied';
    return { name: c.name, value: c.value, outcome, pendingOn, restartedOn };
  });
}
