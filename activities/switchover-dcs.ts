/**
 * Patroni's keys in etcd, read in one range request (one revision, so leader, /failover and
 * member keys are consistent with each other) through etcd's v3 JSON gateway. The switchover
 * activities decide from this whether a request was already issued: Patroni's REST /cluster
 * does not show an immediate (unscheduled) request at all.
 */
import { patroniUrl } from './patroni-api';
import { ETCD_CLIENT_PORT, PATRONI_API_PORT } from '../common/service-ports';
import { hostPort, type Endpoint } from '../common/inventory';
import { dcsPrefix } from '../common/dcs-keys';
import type { DcsState, FailoverKey } from '../common/switchover';
import type { ClusterAccess } from './cluster-access';
import type { Inventory } from './hosts/inventory';
import { b64, etcdPost, prefixRangeEnd, unb64 } from './etcd-gateway';

export interface DcsMember {
  role?: string;
  state?: string;
  timeline?: number;
  tags?: Record<string, unknown>;
}

export interface DcsView extends DcsState {
  members: Record<string, DcsMember>;
  config: { loopWait?: number; maximumLagOnFailover?: number; synchronousMode?: boolean; paused?: boolean };
}


function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Patroni writes "{}" to clear the key; only a leader or a candidate makes it a request. */
export function parseFailoverKey(text: string | undefined): FailoverKey | null {
  if (!text) return null;
  const v = parseJson(text) as { leader?: unknown; member?: unknown; scheduled_at?: unknown } | undefined;
  if (!v || typeof v !== 'object') return null;
  const f: FailoverKey = {};
  if (typeof v.leader === 'string' && v.leader) f.leader = v.leader;
  if (typeof v.member === 'string' && v.member) f.candidate = v.member;
  if (typeof v.scheduled_at === 'string' && v.scheduled_at) f.scheduledAt = v.scheduled_at;
  return f.leader || f.candidate ? f : null;
}

/** Parse the key/value pairs under /<namespace>/<scope>/ (scope: the serving generation's, common/generations.ts). */
export function dcsViewFromKeys(scope: string, kv: Map<string, string>): DcsView {
  const prefix = dcsPrefix(scope);
  const members: Record<string, DcsMember> = {};
  for (const [k, v] of kv) {
    if (!k.startsWith(`${prefix}members/`)) continue;
    const m = parseJson(v) as DcsMember | undefined;
    if (m) members[k.slice(`${prefix}members/`.length)] = m;
  }
  const leader = kv.get(`${prefix}leader`) || null;
  const cfg = (parseJson(kv.get(`${prefix}config`) ?? '') ?? {}) as {
    loop_wait?: number; maximum_lag_on_failover?: number; synchronous_mode?: boolean; pause?: boolean;
  };
  const tl = leader ? members[leader]?.timeline : undefined;
  return {
    leader,
    timeline: typeof tl === 'number' ? tl : null,
    failover: parseFailoverKey(kv.get(`${prefix}failover`)),
    members,
    config: {
      loopWait: cfg.loop_wait,
      maximumLagOnFailover: cfg.maximum_lag_on_failover,
      synchronousMode: cfg.synchronous_mode === true,
      paused: cfg.pause === true,
    },
  };
}

/**
 * Member addresses from the inventory, looked up once (a Docker listing per request is
 * slow on a loaded host, and the switchover waits poll every 50 ms). A failed request forgets
 * the address, so a restarted container is looked up again. `access` holds the credentials
 * requests to them need.
 */
export class Addresses {
  private readonly known = new Map<string, Endpoint>();

  constructor(private readonly inv: Inventory, readonly cluster: string, readonly access: ClusterAccess) {}

  /** The serving generation's Patroni scope. */
  scope(): string {
    return this.inv.servingScope(this.cluster);
  }

  async endpoint(member: string, port: number): Promise<Endpoint | undefined> {
    const key = `${member}:${port}`;
    const cached = this.known.get(key);
    if (cached) return cached;
    const e = await this.inv.endpointOf(this.cluster, member, port);
    if (e) this.known.set(key, e);
    return e;
  }

  forget(member: string): void {
    for (const key of [...this.known.keys()]) if (key.startsWith(`${member}:`)) this.known.delete(key);
  }

  /** Base URL of the member's Patroni REST API, or undefined when its container is not running. */
  async api(member: string): Promise<string | undefined> {
    const e = await this.endpoint(member, PATRONI_API_PORT);
    return e ? patroniUrl(e) : undefined;
  }
}

/** The cluster's Patroni keys, from the first etcd member that answers. */
export async function readDcs(addresses: Addresses, etcdMembers: string[]): Promise<DcsView> {
  const scope = addresses.scope();
  const prefix = dcsPrefix(scope);
  let last: unknown;
  for (const e of etcdMembers) {
    const at = await addresses.endpoint(e, ETCD_CLIENT_PORT);
    if (!at) continue;
    try {
      const body = (await etcdPost(hostPort(at), '/v3/kv/range', { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)) }, addresses.access.etcdUser)) as { kvs?: { key: string; value?: string }[] };
      const kv = new Map((body.kvs ?? []).map((x) => [unb64(x.key), unb64(x.value)] as [string, string]));
      return dcsViewFromKeys(scope, kv);
    } catch (err) {
      addresses.forget(e);
      last = err;
    }
  }
  throw new Error(`no etcd member of ${addresses.cluster} answered (${last instanceof Error ? last.message : 'none running'})`);
}
