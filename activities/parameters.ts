/**
 * PostgreSQL parameters of a cluster's members: their pg_settings (read with psql on each member's
 * own socket, found through the inventory), the `postgresql.parameters` of Patroni's DCS config
 * (PATCH /config; null deletes a key), and the wait until every running member runs with a change
 * or waits for a restart for it. Patroni applies a DCS change at its next HA loop: it rewrites
 * postgresql.conf and reloads; a parameter that takes a restart is then flagged pending_restart
 * (by pg_settings, or, for those Patroni passes on the command line, by Patroni's /patroni).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { RUNNING_POSTGRES, type Member } from '../common/inventory';
import { spelledByServer, type PgSetting } from '../common/parameter-values';
import {
  PARAMETER_REJECTED, memberState, parameterNameProblem, settingsToRead, type MemberParameters, type ParameterChange, type ParametersSeen,
} from '../common/set-parameters';
import { clusterAccess } from './cluster-access';
import { WAKE_PATCH, patchDcsConfigAt } from './dcs-config';
import { pollUntil } from './heartbeat';
import { postmasterStatus } from './member-restart';
import { clusterView, memberApi } from './patroni';
import { psqlOn } from './upgrade/psql';

const COLUMNS = 'name, setting, current_setting(name) as shown, unit, vartype, enumvals, min_val, max_val, context, source, sourcefile, pending_restart, boot_val';

/** A member that keeps refusing a value this long fails the wait (Patroni may be mid-write once). */
const REJECTED_AFTER_MS = 5000;

export interface MemberSettings {
  settings: PgSetting[];
  /** pg_file_settings errors: a value in Patroni's file that the server refused. */
  fileErrors: { name: string; error: string }[];
}

function inList(names: string[]): string {
  for (const n of names) if (parameterNameProblem(n)) throw new Error(parameterNameProblem(n));
  return names.map((n) => `'${n}'`).join(', ');
}

/** The member's pg_settings (every row, or only `names`), as the superuser sees them. */
export async function memberSettings(inv: Inventory, m: Member, names?: string[]): Promise<MemberSettings> {
  const where = names ? ` where lower(name) in (${inList(names)})` : '';
  const errors = names ? ` and lower(name) in (${inList(names)})` : '';
  const sql = `select json_build_object(` +
    `'settings', (select coalesce(json_agg(s order by s.name), '[]') from (select ${COLUMNS} from pg_settings${where}) s), ` +
    `'fileErrors', (select coalesce(json_agg(f), '[]') from (select lower(name) as name, error from pg_file_settings where error is not null${errors}) f))`;
  return JSON.parse(await psqlOn(inv.engine(m.host), m.container, 'postgres', sql)) as MemberSettings;
}

/** The leader's name and pg_settings; fails when no member leads. */
export async function leaderSettings(inv: Inventory, cluster: string, names?: string[]): Promise<{ leader: string; settings: PgSetting[] }> {
  const running = await inv.members(cluster, RUNNING_POSTGRES);
  const leader = (await clusterView(inv, cluster, running.map((m) => m.name)))?.find((m) => m.role === 'leader')?.name;
  const m = running.find((x) => x.name === leader);
  if (!m) throw new Error(`cluster ${cluster} has no leader now; change its parameters once it has one`);
  return { leader: m.name, settings: (await memberSettings(inv, m, names)).settings };
}

/** The `postgresql.parameters` of a DCS config, as strings. */
export function dcsParameters(config: object): Record<string, string> {
  const p = (config as { postgresql?: { parameters?: Record<string, unknown> } }).postgresql?.parameters ?? {};
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

interface MemberProgress {
  /** Its Patroni API, to wake its HA loop. */
  api?: string;
  seen?: MemberParameters;
  /** What it still shows instead (undefined: nothing to wait for). */
  waitingFor?: string;
  /** Values its server refused on reload. */
  refused: { name: string; error: string }[];
}

/**
 * How the member's server spells a string value (set_config in the statement's own transaction, so
 * nothing stays set), or undefined where a session cannot set it. The value goes as hex: whatever
 * its quotes or backslashes, it reaches set_config unchanged.
 */
async function serverSpelling(inv: Inventory, m: Member, name: string, value: string): Promise<string | undefined> {
  if (parameterNameProblem(name)) return undefined;
  const hex = Buffer.from(value, 'utf8').toString('hex');
  return psqlOn(inv.engine(m.host), m.container, 'postgres', `select set_config('${name}', convert_from(decode('${hex}', 'hex'), 'UTF8'), true)`)
    .catch(() => undefined);
}

/** The server's spelling of each string change (`name=value`), kept once a member said it (every member runs the same PostgreSQL). */
type Spellings = Map<string, string>;

/** Where one running member is with the changes: its pg_settings and Patroni's pending_restart. */
async function memberProgress(inv: Inventory, cluster: string, m: Member, changes: ParameterChange[], spellings: Spellings): Promise<MemberProgress> {
  const api = await memberApi(inv, cluster, m.name);
  const [read, patroni] = await Promise.all([
    memberSettings(inv, m, changes.map((c) => c.name)).catch(() => undefined),
    api ? postmasterStatus(api).catch(() => undefined) : undefined,
  ]);
  if (!read) return { api, waitingFor: 'PostgreSQL does not answer', refused: [] };
  const rowOf = (name: string): PgSetting | undefined => read.settings.find((s) => s.name.toLowerCase() === name);
  // PostgreSQL says "setting could not be applied" both for a bad value and for a changed
  // postmaster parameter (then pending_restart): only the former is a refusal.
  const refused = read.fileErrors.filter((e) => rowOf(e.name) !== undefined && rowOf(e.name)?.context !== 'postmaster');
  const pending = patroni?.pendingRestart ?? false;
  const states = await Promise.all(changes.map(async (c) => {
    const row = rowOf(c.name);
    const s = memberState(row, c, pending);
    if (s !== 'waiting' || !row || c.value === null || !spelledByServer(row)) return { name: c.name, s };
    const key = `${c.name}=${c.value}`;
    const spelled = spellings.get(key) ?? await serverSpelling(inv, m, c.name, c.value);
    if (spelled !== undefined) spellings.set(key, spelled);
    return { name: c.name, s: memberState(row, c, pending, spelled) };
  }));
  const of = (s: string): string[] => states.filter((x) => x.s === s).map((x) => x.name);
  const late = of('waiting').map((n) => `${n} shows ${rowOf(n)?.shown ?? 'nothing'}`);
  return { api, seen: { member: m.name, applied: of('applied'), pending: of('pending') }, waitingFor: late.length > 0 ? late.join(', ') : undefined, refused };
}

export function createParameterActivities(inv: Inventory, paths: Paths) {
  const access = (cluster: string) => clusterAccess(paths, cluster);
  const api = async (cluster: string, member: string): Promise<string> => {
    const a = await memberApi(inv, cluster, member);
    if (!a) throw new Error(`${member} of ${cluster} is not running`);
    return a;
  };

  return {
    /**
     * The leader's pg_settings for the names, and what the DCS holds for them now (a fresh copy:
     * a PATCH that changes nothing refreshes the member's cache), to put back if a value is refused.
     */
    async readParameterSettings(i: { cluster: string; names: string[] }): Promise<{ leader: string; settings: PgSetting[]; previous: ParameterChange[] }> {
      const { leader, settings } = await leaderSettings(inv, i.cluster, settingsToRead(i.names));
      const dcs = dcsParameters(await patchDcsConfigAt(await api(i.cluster, leader), access(i.cluster), WAKE_PATCH));
      return { leader, settings, previous: i.names.map((name) => ({ name, value: dcs[name] ?? null })) };
    },

    /** PATCH the changes into `postgresql.parameters` through the leader. Idempotent: a retry writes the same values. */
    async patchParameters(i: { cluster: string; leader: string; changes: ParameterChange[] }): Promise<{ member: string }> {
      const body = { postgresql: { parameters: Object.fromEntries(i.changes.map((c) => [c.name, c.value])) } };
      const after = dcsParameters(await patchDcsConfigAt(await api(i.cluster, i.leader), access(i.cluster), body));
      const missed = i.changes.filter((c) => (after[c.name] ?? null) !== c.value);
      if (missed.length > 0) throw new Error(`Patroni on ${i.leader} returned a config without ${missed.map((c) => c.name).join(', ')}`);
      return { member: i.leader };
    },

    /**
     * Every running member runs with each change or waits for a restart for it. Each member's HA
     * loop is woken so this takes one loop, not up to loop_wait. A value the server refuses on
     * reload (pg_file_settings) fails the wait as ParameterRejected (final).
     */
    async waitForParameters(i: { cluster: string; changes: ParameterChange[]; timeoutMs?: number }): Promise<ParametersSeen> {
      const wake = new Map<string, number>();
      const refusedSince = new Map<string, number>();
      const spellings: Spellings = new Map();
      const r = await pollUntil<ParametersSeen | { rejected: string }>(
        'every member to run with the parameters or wait for a restart',
        async () => {
          const pg = await inv.members(i.cluster, { kind: 'postgres' });
          const members: MemberParameters[] = [];
          const waiting: string[] = [];
          for (const m of pg.filter((x) => x.state === 'running')) {
            const p = await memberProgress(inv, i.cluster, m, i.changes, spellings);
            for (const e of p.refused) {
              const since = refusedSince.get(`${m.name} ${e.name}`) ?? Date.now();
              refusedSince.set(`${m.name} ${e.name}`, since);
              const value = i.changes.find((c) => c.name === e.name)?.value ?? '';
              if (Date.now() - since > REJECTED_AFTER_MS) return { done: { rejected: `${m.name} refuses ${e.name}=${value}: ${e.error}` } };
            }
            if (p.seen) members.push(p.seen);
            if (p.waitingFor === undefined) continue;
            waiting.push(`${m.name} (${p.waitingFor})`);
            if (p.api && Date.now() - (wake.get(m.name) ?? 0) > 2000) {
              wake.set(m.name, Date.now());
              await patchDcsConfigAt(p.api, access(i.cluster), WAKE_PATCH).catch(() => undefined);
            }
          }
          if (waiting.length > 0) return { status: `waiting for ${waiting.join(', ')}` };
          return { done: { members, notRunning: pg.filter((x) => x.state !== 'running').map((x) => x.name) } };
        },
        { intervalMs: 1000, timeoutMs: i.timeoutMs ?? 180_000 },
      );
      if ('rejected' in r) throw ApplicationFailure.create({ type: PARAMETER_REJECTED, message: r.rejected, nonRetryable: true });
      return r;
    },
  };
}
