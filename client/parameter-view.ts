/**
 * What `cluster config NAME` shows: the parameters that are not at their default on the leader,
 * where each comes from, and which members wait for a restart for it. Read directly (no workflow):
 * each running member's pg_settings on its own socket and Patroni's pending_restart, through the
 * inventory; the DCS config from the first Patroni API that answers.
 */
import type { Inventory } from '../activities/hosts/inventory';
import { readDcsConfig } from '../activities/dcs-config';
import { postmasterStatus } from '../activities/member-restart';
import { dcsParameters, memberSettings, type MemberSettings } from '../activities/parameters';
import { clusterView, memberApi } from '../activities/patroni';
import { hiddenFromView } from '../common/managed-parameters';
import { setByAlterSystem, type PgSetting } from '../common/parameter-values';
import { memberState } from '../common/set-parameters';
import { OperationError } from './errors';

export interface ParameterView {
  name: string;
  /** As SHOW prints it (128MB). */
  value: string;
  /** pg_settings.setting in `unit` (16384 in units of 8kB). */
  setting: string;
  unit: string | null;
  /** pg_settings.source, and where dbaas sees it come from: DCS, patroni.yml, initdb, ALTER SYSTEM, command line… */
  source: string;
  origin: string;
  /** postmaster: takes a restart to change. */
  context: string;
  /** Set in Patroni's DCS config (what `config set` writes and `config unset` removes). */
  inDcs: boolean;
  /** The DCS value (what a member runs after its restart, when it waits for one); null: not in the DCS. */
  dcsValue: string | null;
  pendingRestartOn: string[];
}

export interface ConfigView {
  cluster: string;
  /** The member whose values are shown: the leader, or the first that answered without one. */
  readFrom: string;
  leader: string | null;
  parameters: ParameterView[];
  /** Members whose container is stopped, and running ones whose PostgreSQL did not answer. */
  notRunning: string[];
  unreadable: string[];
}

/** Where a non-default value comes from, as a DBA acts on it. */
export function originOf(row: Pick<PgSetting, 'source' | 'sourcefile'>, inDcs: boolean): string {
  if (setByAlterSystem(row)) return 'ALTER SYSTEM';
  if (row.source === 'configuration file') {
    if (inDcs) return 'DCS';
    return (row.sourcefile ?? '').endsWith('/postgresql.base.conf') ? 'initdb' : 'patroni.yml';
  }
  return inDcs ? `${row.source} (DCS)` : row.source;
}

/** Shown: not at the default (or set in the DCS, its restart pending), not our own session's (client), not Patroni's or dbaas's plumbing. */
const shown = (row: PgSetting, inDcs: boolean): boolean => (inDcs || (row.source !== 'default' && row.source !== 'client')) && !hiddenFromView(row.name);

export async function readConfigView(inv: Inventory, cluster: string): Promise<ConfigView> {
  const pg = await inv.members(cluster, { kind: 'postgres' });
  const running = pg.filter((m) => m.state === 'running');
  const leader = (await clusterView(inv, cluster, running.map((m) => m.name)))?.find((m) => m.role === 'leader')?.name ?? null;
  const reads = await Promise.all(running.map(async (m) => {
    const api = await memberApi(inv, cluster, m.name);
    const [read, patroni] = await Promise.all([
      memberSettings(inv, m).catch(() => undefined),
      api ? postmasterStatus(api).catch(() => undefined) : undefined,
    ]);
    return { member: m.name, read, patroniPending: patroni?.pendingRestart ?? false };
  }));
  const answered = reads.filter((r): r is typeof r & { read: MemberSettings } => r.read !== undefined);
  const base = answered.find((r) => r.member === leader) ?? answered[0];
  if (!base) throw new OperationError(`no member of ${cluster} answers (running: ${running.map((m) => m.name).join(', ') || 'none'})`);
  const dcs = dcsParameters((await readDcsConfig(inv, cluster, [...(leader ? [leader] : []), ...running.map((m) => m.name)]))?.config ?? {});
  const pendingOn = (name: string): string[] => answered.filter((r) => {
    const row = r.read.settings.find((s) => s.name === name);
    return row !== undefined && memberState(row, { name: name.toLowerCase(), value: dcs[name.toLowerCase()] ?? null }, r.patroniPending) === 'pending';
  }).map((r) => r.member);
  return {
    cluster,
    readFrom: base.member,
    leader,
    parameters: base.read.settings.filter((row) => shown(row, dcs[row.name.toLowerCase()] !== undefined)).map((row) => {
      const dcsValue = dcs[row.name.toLowerCase()] ?? null;
      return {
        name: row.name, value: row.shown, setting: row.setting, unit: row.unit, source: row.source, origin: originOf(row, dcsValue !== null),
        context: row.context, inDcs: dcsValue !== null, dcsValue, pendingRestartOn: pendingOn(row.name),
      };
    }),
    notRunning: pg.filter((m) => m.state !== 'running').map((m) => m.name),
    unreadable: reads.filter((r) => r.read === undefined).map((r) => r.member),
  };
}
