/**
 * Patroni's dynamic configuration (the `config` key in the DCS): read it, PATCH it, and prove
 * that every member applied it. Used by set-profile and set-sync, and by describeCluster, for
 * which the DCS (not the creation label) is the source of truth for profile and sync mode.
 *
 * What "applied" means, per member (Patroni 3.0.2 source):
 * - Every HA loop loads the cluster from the DCS and, right after the loop, calls
 *   set_dynamic_configuration → dcs.reload_config, which sets loop_wait, ttl and retry_timeout
 *   together. A changed ttl drops the member's etcd lease; its next touch_member re-puts its member
 *   key under a new lease granted with the new ttl. So "the lease on /members/<name> was granted
 *   with the new ttl" proves that this member's own Patroni runs with the new timing.
 *   (A member's GET /config is NOT such a proof: it returns the DCS copy, which a PATCH or a
 *   GET on that member refreshes outside the HA loop.)
 * - Sync mode: replicas read synchronous_mode from the DCS at every loop (nothing to apply); the
 *   leader applies it to synchronous_standby_names and records the standby in the /sync key. So
 *   on/strict is applied when /cluster shows a sync_standby that the leader's pg_stat_replication
 *   reports as `sync`; off when no member is sync_standby and no replication row is `sync`.
 */
import type { Inventory } from './hosts/inventory';
import { ETCD_CLIENT_PORT, PATRONI_API_PORT } from '../common/service-ports';
import { hostPort } from '../common/inventory';
import { RUNNING_POSTGRES } from '../common/inventory';
import type { Paths } from '../common/paths';
import { dcsPrefix } from '../common/dcs-keys';
import { dcsSettingsView, type DcsConfig, type DcsSettingsView, type SyncMode } from '../common/spec';
import { clusterAccess, type ClusterAccess } from './cluster-access';
import { b64, etcdPost, type EtcdUser } from './etcd-gateway';
import { pollUntil } from './heartbeat';
import { getCluster, getDcsConfig, getPatroni, patroniUrl, readDcsConfig, readJson } from './patroni-api';
import { memberApi } from './patroni';

export { dcsSettingsView, getDcsConfig, readDcsConfig, type DcsSettingsView };

/** Keys whose values set-profile / set-sync write; a PATCH body is a subset of them. */
export type DcsPatch = Partial<Record<keyof DcsConfig, number | boolean>>;

/**
 * A PATCH that changes nothing (it deletes a key that never exists) but makes Patroni 3.0.2 run
 * its HA loop now (do_PATCH_config calls ha.wakeup() whenever the body is non-empty). Unlike
 * re-sending a current value, it cannot undo a concurrent change made through another member.
 */
export const WAKE_PATCH = { dbaas_wakeup: null } as const;

/**
 * PATCH /config: Patroni merges the body into the DCS config (null deletes a key) and returns the
 * result. `access` carries the REST API credentials (an unsafe method).
 */
export async function patchDcsConfigAt(api: string, access: ClusterAccess, patch: object): Promise<DcsConfig> {
  return (await readJson(`${api}/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...access.patroniHeaders },
    body: JSON.stringify(patch),
  })) as DcsConfig;
}


export async function etcdEndpoints(inv: Inventory, cluster: string): Promise<string[]> {
  const etcd = await inv.members(cluster, { kind: 'etcd', running: true });
  return etcd.flatMap((m) => {
    const e = inv.endpoint(m, ETCD_CLIENT_PORT);
    return e ? [hostPort(e)] : [];
  });
}

export async function etcdCall(endpoints: string[], path: string, body: object, user: EtcdUser | undefined): Promise<Record<string, unknown>> {
  let last: unknown = new Error('no etcd member is running');
  for (const e of endpoints) {
    try {
      return await etcdPost(e, path, body, user);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** The TTL its lease was granted with, for each member key (undefined: no key or no lease). */
export async function memberLeaseTtls(inv: Inventory, cluster: string, members: string[], user: EtcdUser | undefined): Promise<Map<string, number | undefined>> {
  const endpoints = await etcdEndpoints(inv, cluster);
  const out = new Map<string, number | undefined>();
  for (const m of members) {
    const r = await etcdCall(endpoints, '/v3/kv/range', { key: b64(`${dcsPrefix(inv.servingScope(cluster))}members/${m}`) }, user);
    const lease = (r.kvs as { lease?: string }[] | undefined)?.[0]?.lease;
    if (!lease || lease === '0') {
      out.set(m, undefined);
      continue;
    }
    const t = await etcdCall(endpoints, '/v3/lease/timetolive', { ID: lease }, user);
    out.set(m, t.grantedTTL === undefined ? undefined : Number(t.grantedTTL));
  }
  return out;
}

/** Exactly the values of `want` are in `have` (compared as Patroni compares them: as strings). */
export function configHas(have: DcsConfig, want: DcsPatch): boolean {
  return Object.entries(want).every(([k, v]) => String((have as Record<string, unknown>)[k]) === String(v));
}

export interface PatchResult {
  /** The member whose API took the PATCH. */
  member: string;
  /** The DCS config before and after. */
  before: DcsConfig;
  after: DcsConfig;
}

export interface ConfigApplied {
  /** Members whose Patroni runs with the new config (lease proof or DCS view, see above). */
  applied: string[];
  /** Members with a container that is not running: they load the config from the DCS when they start. */
  notRunning: string[];
}

export interface SyncApplied {
  mode: SyncMode;
  leader: string;
  /** The synchronous standby, or null for mode off. */
  syncStandby: string | null;
}

export function createDcsConfigActivities(inv: Inventory, paths: Paths) {
  return {
    /** The DCS config through the first answering member. Fails when none answers. */
    async readClusterConfig(i: { cluster: string }): Promise<{ config: DcsConfig; member: string }> {
      const r = await readDcsConfig(inv, i.cluster, await inv.memberNames(i.cluster, RUNNING_POSTGRES));
      if (!r) throw new Error(`no Patroni API of ${i.cluster} answers`);
      return r;
    },

    /**
     * PATCH the DCS config through a member that answers (the leader first). Idempotent: a
     * retry finds the values in place, Patroni writes nothing and returns the same config.
     */
    async patchDcsConfig(i: { cluster: string; leader: string | null; patch: DcsPatch }): Promise<PatchResult> {
      const members = [...(i.leader ? [i.leader] : []), ...(await inv.memberNames(i.cluster, RUNNING_POSTGRES))];
      let last: unknown = new Error(`no member of ${i.cluster} is running`);
      const access = clusterAccess(paths, i.cluster);
      for (const m of [...new Set(members)]) {
        const api = await memberApi(inv, i.cluster, m);
        if (!api) continue;
        try {
          // Fresh DCS copy first (a PATCH refreshes it), so `before` is not a stale cache.
          const before = await patchDcsConfigAt(api, access, WAKE_PATCH);
          const after = await patchDcsConfigAt(api, access, i.patch);
          if (!configHas(after, i.patch)) throw new Error(`Patroni on ${m} returned a config without the patch: ${JSON.stringify(after)}`);
          return { member: m, before, after };
        } catch (err) {
          last = err;
        }
      }
      throw last;
    },

    /**
     * Every running member applied the DCS config `want` (see the file comment). Each member's HA
     * loop is woken so this takes one loop, not up to loop_wait. With a ttl in `want` the proof is
     * the member's lease; since every shipped profile has its own ttl, that covers set-profile
     * (timing edited by hand to the same ttl would pass at once: no per-member sign of loop_wait).
     * Without a ttl, the member's DCS view is the best sign there is.
     */
    async waitForDcsConfigApplied(i: { cluster: string; want: DcsPatch; timeoutMs?: number }): Promise<ConfigApplied> {
      const wake = new Map<string, number>();
      const access = clusterAccess(paths, i.cluster);
      return pollUntil<ConfigApplied>(
        'every member to apply the config',
        async () => {
          const pg = await inv.members(i.cluster, { kind: 'postgres' });
          const running = pg.filter((m) => m.state === 'running').map((m) => m.name);
          const notRunning = pg.filter((m) => m.state !== 'running').map((m) => m.name);
          const leases = i.want.ttl === undefined ? undefined : await memberLeaseTtls(inv, i.cluster, running, access.etcdUser);
          const pending: string[] = [];
          for (const m of running) {
            const e = inv.endpoint(pg.find((x) => x.name === m)!, PATRONI_API_PORT);
            const api = e && patroniUrl(e);
            if (!api) {
              pending.push(`${m} (no API)`);
              continue;
            }
            const view = await getDcsConfig(api).catch(() => undefined);
            const ok = leases ? leases.get(m) === Number(i.want.ttl) : view !== undefined && configHas(view, i.want);
            if (ok) continue;
            pending.push(leases ? `${m} (lease ttl ${leases.get(m) ?? 'none'})` : `${m} (config ${view ? 'old' : 'unreadable'})`);
            if (Date.now() - (wake.get(m) ?? 0) > 2000) {
              wake.set(m, Date.now());
              await patchDcsConfigAt(api, access, WAKE_PATCH).catch(() => undefined);
            }
          }
          return pending.length === 0 ? { done: { applied: running, notRunning } } : { status: `waiting for ${pending.join(', ')}` };
        },
        { intervalMs: 500, timeoutMs: i.timeoutMs ?? 180_000 },
      );
    },

    /**
     * The leader runs the sync mode: on/strict with a synchronous standby that PostgreSQL reports
     * as `sync`; off with none. Waits for a replica to qualify (it must be streaming).
     */
    async waitForSyncApplied(i: { cluster: string; mode: SyncMode; timeoutMs?: number }): Promise<SyncApplied> {
      let lastWake = 0;
      const access = clusterAccess(paths, i.cluster);
      return pollUntil<SyncApplied>(
        `sync mode ${i.mode} in effect`,
        async () => {
          const members = await inv.memberNames(i.cluster, RUNNING_POSTGRES);
          let view;
          for (const m of members) {
            const api = await memberApi(inv, i.cluster, m);
            view = api ? await getCluster(api).catch(() => undefined) : undefined;
            if (view) break;
          }
          if (!view) return { status: 'no Patroni API answers' };
          const leader = view.find((m) => m.role === 'leader');
          if (!leader) return { status: 'no leader' };
          const leaderApi = await memberApi(inv, i.cluster, leader.name);
          if (!leaderApi) return { status: `leader ${leader.name} not reachable` };
          if (Date.now() - lastWake > 2000) {
            lastWake = Date.now();
            await patchDcsConfigAt(leaderApi, access, WAKE_PATCH).catch(() => undefined);
          }
          const rows = (await getPatroni(leaderApi)).replication;
          const syncRows = rows.filter((r) => r.sync_state === 'sync').map((r) => r.application_name);
          const standby = view.find((m) => m.role === 'sync_standby')?.name ?? null;
          if (i.mode === 'off') {
            return !standby && syncRows.length === 0
              ? { done: { mode: i.mode, leader: leader.name, syncStandby: null } }
              : { status: `still synchronous: standby ${standby ?? 'none'}, sync rows [${syncRows.join(',')}]` };
          }
          return standby && syncRows.includes(standby)
            ? { done: { mode: i.mode, leader: leader.name, syncStandby: standby } }
            : { status: `standby ${standby ?? 'none'}, sync rows [${syncRows.join(',')}], replication [${rows.map((r) => `${r.application_name}:${r.state}/${r.sync_state ?? ''}`).join(' ')}]` };
        },
        { intervalMs: 500, timeoutMs: i.timeoutMs ?? 180_000 },
      );
    },
  };
}
