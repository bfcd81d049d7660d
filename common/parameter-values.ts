/**
 * PostgreSQL parameter values checked the way the server reads them, against its own pg_settings
 * row: the type (vartype), the enum values, the range (min_val/max_val, in the row's unit) and
 * the units PostgreSQL accepts (memory B, kB, MB, GB, TB; time us, ms, s, min, h, d). Pure: the
 * CLI refuses bad input with it before anything starts, the workflow checks again with it, and
 * the wait for a change compares what a member shows with it.
 */

export type VarType = 'bool' | 'integer' | 'real' | 'enum' | 'string';

/** The pg_settings columns dbaas reads (one row per parameter; `shown` is current_setting(name)). */
export interface PgSetting {
  name: string;
  setting: string;
  /** As current_setting() shows it: 128MB where setting is 16384 in units of 8kB. */
  shown: string;
  /** The unit `setting`, min_val and max_val are in: kB, 8kB, MB, ms, s, min… or null. */
  unit: string | null;
  vartype: VarType;
  enumvals: string[] | null;
  min_val: string | null;
  max_val: string | null;
  /** postmaster: a change takes a restart; sighup: a reload; user, superuser…: also sessions. */
  context: string;
  /** default, configuration file, command line, override, client… */
  source: string;
  /** The file that set it (superusers see it): Patroni's postgresql.conf, postgresql.base.conf, postgresql.auto.conf. */
  sourcefile: string | null;
  pending_restart: boolean;
  /** PostgreSQL's own default (in `unit`): what an unset parameter Patroni does not pass on the command line falls back to. */
  boot_val?: string | null;
}

/** A value as it goes to Patroni (`value`) and as pg_settings.setting will show it (`setting`). */
export interface ParsedValue {
  value: string;
  setting: string;
}

const MEMORY_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const MEMORY_LIST = 'B, kB, MB, GB or TB';
const TIME_LIST = 'us, ms, s, min, h or d';

type UnitKind = 'memory' | 'time';

/** A row's unit as a quantity: '8kB' is 8192 bytes, 'min' 60000 ms. */
function unitSize(unit: string): { kind: UnitKind; size: number } | undefined {
  const m = /^(\d*)\s*([a-zA-Z]+)$/.exec(unit);
  if (!m) return undefined;
  const times = m[1] === '' ? 1 : Number(m[1]);
  if (m[2] in MEMORY_UNITS) return { kind: 'memory', size: times * MEMORY_UNITS[m[2]] };
  if (m[2] in TIME_UNITS) return { kind: 'time', size: times * TIME_UNITS[m[2]] };
  return undefined;
}

const NUMBER = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)$/;

/** A number in the row's unit, or why not. */
function numberIn(row: PgSetting, raw: string): number | string {
  const m = NUMBER.exec(raw);
  if (!m) return `${row.name} takes a number${row.unit ? ` (with a unit: ${describeUnit(row.unit)})` : ''}, got "${raw}"`;
  const n = Number(m[1]);
  const given = m[2];
  if (given === '') return n;
  const target = row.unit ? unitSize(row.unit) : undefined;
  if (!target) return `${row.name} takes a plain number without a unit, got "${raw}"`;
  const factor = target.kind === 'memory' ? MEMORY_UNITS[given] : TIME_UNITS[given];
  if (factor === undefined) return `${row.name} takes a ${target.kind === 'memory' ? `memory size in ${MEMORY_LIST}` : `time in ${TIME_LIST}`} (units are case-sensitive), got "${raw}"`;
  return (n * factor) / target.size;
}

function describeUnit(unit: string): string {
  const u = unitSize(unit);
  return !u ? unit : u.kind === 'memory' ? MEMORY_LIST : TIME_LIST;
}

/** n units of the row (a bound) the way PostgreSQL prints it: the largest unit that holds it exactly. */
export function formatInUnit(n: number, unit: string | null): string {
  const u = unit ? unitSize(unit) : undefined;
  if (!u || !Number.isFinite(n) || !Number.isInteger(n)) return unit ? `${n} (×${unit})` : String(n);
  const base = n * u.size;
  if (base === 0) return '0';
  const units = Object.entries(u.kind === 'memory' ? MEMORY_UNITS : TIME_UNITS).filter(([, f]) => f >= 1).reverse();
  const [name, f] = units.find(([, f]) => base % f === 0) ?? units[units.length - 1];
  return `${base / f}${name}`;
}

/** PostgreSQL's parse_bool: true/false/yes/no and their prefixes, on/off (2 letters at least), 1/0. */
export function parseBool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (v === '') return undefined;
  if ('true'.startsWith(v) || 'yes'.startsWith(v) || v === 'on' || v === '1') return true;
  if ('false'.startsWith(v) || 'no'.startsWith(v) || (v.length >= 2 && 'off'.startsWith(v)) || v === '0') return false;
  return undefined;
}

/** The value checked against the row, or why PostgreSQL would refuse it. */
export function parseValue(row: PgSetting, raw: string): ParsedValue | { problem: string } {
  const v = raw.trim();
  // Patroni writes the value into postgresql.conf: a line break would end the line there.
  if (/[\u0000-\u001f\u007f]/.test(v)) return { problem: `the value of ${row.name} contains a control character` };
  switch (row.vartype) {
    case 'bool': {
      const b = parseBool(v);
      if (b === undefined) return { problem: `${row.name} takes on or off, got "${raw}"` };
      return { value: b ? 'on' : 'off', setting: b ? 'on' : 'off' };
    }
    case 'enum': {
      const hit = (row.enumvals ?? []).find((e) => e.toLowerCase() === v.toLowerCase());
      if (hit === undefined) return { problem: `${row.name} must be one of ${(row.enumvals ?? []).join(', ')}, got "${raw}"` };
      return { value: hit, setting: hit };
    }
    case 'integer':
    case 'real': {
      const parsed = numberIn(row, v);
      if (typeof parsed === 'string') return { problem: parsed };
      const n = row.vartype === 'integer' ? Math.round(parsed) : parsed;
      const [min, max] = [Number(row.min_val), Number(row.max_val)];
      if (!Number.isFinite(n) || (row.min_val !== null && n < min) || (row.max_val !== null && n > max)) {
        return { problem: `${row.name} must be between ${formatInUnit(min, row.unit)} and ${formatInUnit(max, row.unit)}, got "${raw}"` };
      }
      // A plain integer goes as the number (Patroni's checks of its own parameters read it with int()).
      return { value: NUMBER.exec(v)![2] === '' && row.vartype === 'integer' ? String(n) : v.replace(/\s+/g, ''), setting: String(n) };
    }
    default:
      // As given: a string's spaces may count (log_line_prefix ends with one before the message).
      if (/[\u0000-\u001f\u007f]/.test(raw)) return { problem: `the value of ${row.name} contains a control character` };
      return { value: raw, setting: raw };
  }
}

/** Strings PostgreSQL canonicalizes (Etc/UTC, "ISO, MDY") compare without case and spaces. */
const loose = (s: string): string => s.replace(/\s+/g, '').replace(/^'(.*)'$/, '$1').toLowerCase();

/** Whether the row shows `raw` (as a member reports it once it runs with the value). */
export function showsValue(row: PgSetting, raw: string): boolean {
  const p = parseValue(row, raw);
  if ('problem' in p) return false;
  if (row.vartype === 'integer' || row.vartype === 'real') {
    const [have, want] = [Number(row.setting), Number(p.setting)];
    return have === want || Math.abs(have - want) <= 1e-9 * Math.max(Math.abs(have), Math.abs(want));
  }
  return loose(row.setting) === loose(p.setting);
}

/**
 * A string value the server may rewrite (datestyle=iso shows "ISO, MDY", default_text_search_config
 * =english shows pg_catalog.english) and that a superuser session can set: the server itself can
 * say how it spells it (set_config, activities/parameters.ts), and a member that shows that runs
 * with the value. Other strings (sighup, postmaster) compare without case and spaces only.
 */
export const spelledByServer = (row: Pick<PgSetting, 'vartype' | 'context'>): boolean =>
  row.vartype === 'string' && (row.context === 'user' || row.context === 'superuser');

/** A change takes effect only at a restart: postmaster context, or passed on the command line (Patroni's own parameters). */
export const takesRestart = (row: Pick<PgSetting, 'context' | 'source'>): boolean => row.context === 'postmaster' || row.source === 'command line';

/** Set with ALTER SYSTEM: postgresql.auto.conf comes after Patroni's file and wins over it. */
export const setByAlterSystem = (row: Pick<PgSetting, 'sourcefile'>): boolean => (row.sourcefile ?? '').endsWith('/postgresql.auto.conf');

/** Set in Patroni's postgresql.conf (from the DCS or patroni.yml), not in postgresql.base.conf or elsewhere. */
export const setByPatroni = (row: Pick<PgSetting, 'source' | 'sourcefile'>): boolean =>
  row.source === 'configuration file' && (row.sourcefile ?? '').endsWith('/postgresql.conf');
