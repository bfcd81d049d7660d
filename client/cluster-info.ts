/** Read-only views of clusters for `list`, `status` and `connect`: Docker labels + Patroni /cluster. */
import { versionOf, type PostgresVersion } from '../common/postgres-version';
import * as fs from 'node:fs';
import { resolvePaths, type Paths } from '../common/paths';
import { backupsState } from '../common/inventory';
import { metricsState, type MetricsState } from '../common/metrics-state';
import type { ReadInventory } from '../activities/hosts/inventory';
import { portsFromBase } from '../common/ports';
import { isLive, keptAfterDelete, type KeptAfterDelete } from '../common/kept-data';
import { clusterInventory } from '../activities/cluster-resources';
import { UsageError } from './errors';
import type { ClusterPorts } from '../common/spec';
import type { MemberSize } from '../common/sizes';
import { clusterView, type ClusterMember } from '../activities/patroni-api';

export interface MemberStatus {
  name: string;
  /** The host whose engine runs it (`local`: this machine's). */
  host: string;
  role: string;
  state: string;
  lag: number | null;
  timeline: number | null;
  nofailover: boolean;
  /** Direct endpoint to this member's PostgreSQL on 127.0.0.1, if it has one. */
  port: number | null;
  container: { name: string; state: string; created: string };
  /** The limits its container was made with (null: none). */
  size: MemberSize | null;
}

export interface ClusterStatus {
  /** Hosts whose engines do not answer: members they run are not in `members` (Patroni may still list them). */
  unreachableHosts: string[];
  name: string;
  /** The PostgreSQL major version the members were made with (null: no Postgres member left). */
  version: PostgresVersion | null;
  /** The members' limits (the leader's container's; null: none): `create --cpus --memory`, `cluster resize`. */
  size: MemberSize | null;
  leader: string | null;
  members: MemberStatus[];
  etcd: { name: string; host: string; state: string }[];
  haproxy: { state: string } | null;
  /** Whether the members mount the cluster's backup repository: all (on), none (off), some (an interrupted `backup enable`). */
  backups: 'on' | 'off' | 'partial';
  /** Whether a metrics container runs beside every front door, and why not. */
  metrics: MetricsState;
  endpoints: {
    /** Every front door (HAProxy and the poolers on each host with a Postgres member); the others name the first. */
    hosts: string[];
    rw: { host: string; port: number };
    ro: { host: string; port: number };
    pooledRw: { host: string; port: number };
    pooledRo: { host: string; port: number };
    stats: { url: string; metrics: string };
  } | null;
}

/** Live clusters: those with containers or a network (a deleted cluster's kept volumes do not count). */
export async function clusterNames(inv: ReadInventory): Promise<string[]> {
  return (await clusterInventory(inv, resolvePaths())).filter(isLive).map((r) => r.name);
}

/** Deleted clusters that kept their backups or their data, with what each kept. */
export async function deletedClusters(inv: ReadInventory): Promise<(KeptAfterDelete & { name: string })[]> {
  return (await clusterInventory(inv, resolvePaths())).filter((r) => !isLive(r)).map((r) => ({ name: r.name, ...keptAfterDelete(r) }));
}

/** What the cluster is now: live, deleted with something kept, or unknown. */
export async function clusterState(inv: ReadInventory, name: string): Promise<{ state: 'live' | 'deleted' | 'unknown' } & KeptAfterDelete> {
  const r = (await clusterInventory(inv, resolvePaths(), name)).find((x) => x.name === name);
  if (!r) return { state: 'unknown', data: false, backups: false };
  return { state: isLive(r) ? 'live' : 'deleted', ...keptAfterDelete(r) };
}

/** One line for a command that needs a live cluster and got a deleted or unknown name. */
export function notLiveLine(name: string, kept: KeptAfterDelete): string {
  if (kept.backups) return `cluster ${name} was deleted; its backups are kept (\`dbaas backup list ${name}\`, \`dbaas restore ${name} --into NEW --latest\`)`;
  if (kept.data) return `cluster ${name} was deleted; its data is kept (\`dbaas cluster create ${name}\` starts on it)`;
  return `no cluster named ${name}`;
}

/** The name of a live cluster, or a UsageError (exit 2) that says what became of it. */
export async function requireLiveCluster(inv: ReadInventory, name: string): Promise<void> {
  const s = await clusterState(inv, name);
  if (s.state !== 'live') throw new UsageError(notLiveLine(name, s));
}

export { clusterIsLive } from '../activities/cluster-resources';

export async function clusterPorts(inv: ReadInventory, paths: Paths, cluster: string): Promise<ClusterPorts | undefined> {
  const base = (await inv.members(cluster, { kind: 'haproxy' }))[0]?.portLabels.base;
  if (base !== undefined) return portsFromBase(base);
  try {
    const reg = JSON.parse(fs.readFileSync(paths.portRegistry, 'utf8')) as { clusters: Record<string, number> };
    const b = reg.clusters[cluster];
    return b === undefined ? undefined : portsFromBase(b);
  } catch {
    return undefined;
  }
}

export async function clusterStatus(inv: ReadInventory, paths: Paths, cluster: string): Promise<ClusterStatus> {
  const { members: all, unreachable } = await inv.membersAndUnreachable(cluster);
  const pg = all.filter((m) => m.kind === 'postgres');
  // Independent reads (Patroni's view, the port labels, the front doors): at once.
  const [found, ports, doors] = await Promise.all([clusterView(inv, cluster, pg.map((m) => m.name)), clusterPorts(inv, paths, cluster), inv.frontDoors(cluster)]);
  const view: ClusterMember[] = found ?? [];
  const members: MemberStatus[] = pg.map((c) => {
    const m = view.find((v) => v.name === c.name);
    return {
      name: c.name,
      host: c.host,
      role: m?.role ?? 'unknown',
      state: m?.state ?? (c.state === 'running' ? 'not registered' : 'down'),
      lag: m?.lag ?? null,
      timeline: m?.timeline ?? null,
      nofailover: m?.tags?.nofailover === true,
      port: c.portLabels.direct ?? null,
      container: { name: c.container, state: c.state, created: c.createdAt },
      size: c.createdWith?.size ?? null,
    };
  });
  const hap = all.find((m) => m.kind === 'haproxy');
  const door = doors[0];
  return {
    name: cluster,
    version: pg.length > 0 ? versionOf(pg.find((m) => m.createdWith)?.createdWith ?? {}) : null,
    unreachableHosts: unreachable,
    size: (members.find((m) => m.role === 'leader') ?? members[0])?.size ?? null,
    leader: view.find((v) => v.role === 'leader')?.name ?? null,
    members,
    etcd: all.filter((m) => m.kind === 'etcd').map((m) => ({ name: m.name, host: m.host, state: m.state })),
    haproxy: hap ? { state: hap.state } : null,
    backups: backupsState(pg),
    metrics: metricsState(all),
    endpoints: ports
      ? {
          hosts: doors,
          rw: { host: door, port: ports.rw },
          ro: { host: door, port: ports.ro },
          pooledRw: { host: door, port: ports.pooledRw },
          pooledRo: { host: door, port: ports.pooledRo },
          stats: { url: `http://${door}:${ports.stats}/`, metrics: `http://${door}:${ports.stats}/metrics` },
        }
      : null,
  };
}

