/**
 * Patroni 3.0.2 REST API client (GET /cluster, GET /patroni, GET /config), and the reads of a
 * cluster's members through the inventory. Role spellings normalized. No package: the CLI's
 * `cluster status` reads Patroni through here.
 */
import * as http from 'node:http';
import { hostPort, type Endpoint } from '../common/inventory';
import { PATRONI_API_PORT } from '../common/service-ports';
import type { DcsConfig } from '../common/spec';
import type { ReadInventory } from './hosts/inventory';

/** Base URL of a member's REST API at its endpoint for PATRONI_API_PORT (see Inventory.endpoint). */
export const patroniUrl = (e: Endpoint): string => `http://${hostPort(e)}`;

export type MemberRole = 'leader' | 'replica' | 'sync_standby' | 'standby_leader' | 'unknown';

export interface ClusterMember {
  name: string;
  role: MemberRole;
  state: string;
  host?: string;
  timeline?: number;
  /** Bytes behind the leader; undefined for the leader or when Patroni reports "unknown". */
  lag?: number;
  tags?: Record<string, unknown>;
}

export interface ReplicationRow {
  application_name: string;
  state: string;
  sync_state?: string;
}

export interface PatroniNodeStatus {
  state: string;
  role: MemberRole;
  timeline?: number;
  replication: ReplicationRow[];
}

/**
 * The one place that knows Patroni's spellings, for 3.0.2 (the 15 image) and 4.0.x (the 17
 * image): 3.0.2 says "master" on /patroni and "leader" on /cluster; 4 says "primary".
 */
export function normalizeRole(r: string | undefined): MemberRole {
  switch (r) {
    case 'master':
    case 'primary':
    case 'leader':
      return 'leader';
    case 'replica':
      return 'replica';
    case 'sync_standby':
    // Patroni 4's quorum commit (synchronous_mode: quorum, which dbaas does not set): a synchronous standby too.
    case 'quorum_standby':
      return 'sync_standby';
    case 'standby_leader':
      return 'standby_leader';
    default:
      return 'unknown';
  }
}

/**
 * A GET of Patroni's REST API over node's http: fetch would load undici (~35 ms of the CLI's
 * `cluster status`, which reads every member). Plain HTTP, as the API listens.
 */
function getAnswer(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}, not JSON (${(err as Error).message})`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function getJson(url: string, timeoutMs = 2000): Promise<unknown> {
  // /patroni answers 503 on a non-running node but still with a JSON body.
  return (await getAnswer(url, timeoutMs)).body;
}

/** A JSON answer; an error unless the status is 2xx. */
export async function readJson(url: string, init?: RequestInit): Promise<unknown> {
  if (!init) {
    const a = await getAnswer(url, 3000);
    if (a.status < 200 || a.status >= 300) throw new Error(`GET ${url}: HTTP ${a.status}`);
    return a.body;
  }
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status}`);
  return res.json();
}

interface RawMember {
  name: string;
  role: string;
  state: string;
  host?: string;
  timeline?: number;
  lag?: number | string;
  tags?: Record<string, unknown>;
}

/**
 * Patroni 4 reports a replica's replication state in place of PostgreSQL's on /cluster
 * ("streaming", "in archive recovery"); 3.0.2 says "running" for both. dbaas compares PostgreSQL's
 * state: a replica that replays is running on either version.
 */
const REPLICATION_STATES = new Set(['streaming', 'in archive recovery']);
export const postgresStateOf = (state: string): string => (REPLICATION_STATES.has(state) ? 'running' : state);

export async function getCluster(apiBase: string): Promise<ClusterMember[]> {
  const body = (await getJson(`${apiBase}/cluster`)) as { members?: RawMember[] };
  return (body.members ?? []).map((m) => ({
    name: m.name,
    role: normalizeRole(m.role),
    state: postgresStateOf(m.state),
    host: m.host,
    timeline: m.timeline,
    lag: typeof m.lag === 'number' ? m.lag : undefined,
    tags: m.tags,
  }));
}

export async function getPatroni(apiBase: string): Promise<PatroniNodeStatus> {
  const body = (await getJson(`${apiBase}/patroni`)) as {
    state: string;
    role: string;
    timeline?: number;
    replication?: ReplicationRow[];
  };
  return { state: body.state, role: normalizeRole(body.role), timeline: body.timeline, replication: body.replication ?? [] };
}

/**
 * Wake the node's HA loop now instead of at the next loop_wait. Patroni 3.0.2's PATCH /config
 * calls ha.wakeup() for any non-empty body, and a key nobody reads set to null writes nothing
 * to the DCS, so this is a no-op that makes the leader create a new member's replication slot
 * at once (otherwise the replica waits up to loop_wait, 10 s in the default profile). It must
 * not re-send a value read from /config: that is the member's cached copy, and writing it back
 * could undo a concurrent set-profile.
 */
export async function wakeHaLoop(apiBase: string, authHeaders: Record<string, string>): Promise<void> {
  await fetch(`${apiBase}/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...authHeaders },
    body: JSON.stringify({ dbaas_wakeup: null }),
    signal: AbortSignal.timeout(2000),
  });
}

export async function getDcsConfig(api: string): Promise<DcsConfig> {
  return (await readJson(`${api}/config`)) as DcsConfig;
}

/** Base URL of a member's Patroni REST API, or undefined when its container is not running. */
export async function memberApi(inv: ReadInventory, cluster: string, member: string): Promise<string | undefined> {
  const e = await inv.endpointOf(cluster, member, PATRONI_API_PORT);
  return e ? patroniUrl(e) : undefined;
}

/** /cluster from the first member that answers. */
export async function clusterView(inv: ReadInventory, cluster: string, members: string[]): Promise<ClusterMember[] | undefined> {
  for (const m of members) {
    const api = await memberApi(inv, cluster, m);
    if (!api) continue;
    try {
      return await getCluster(api);
    } catch {
      // try the next member
    }
  }
  return undefined;
}

/** The DCS config as the first answering member (leader first when given) sees it. */
export async function readDcsConfig(inv: ReadInventory, cluster: string, members: string[]): Promise<{ config: DcsConfig; member: string } | undefined> {
  for (const m of [...new Set(members)]) {
    const api = await memberApi(inv, cluster, m);
    if (!api) continue;
    try {
      return { config: await getDcsConfig(api), member: m };
    } catch {
      // try the next member
    }
  }
  return undefined;
}
