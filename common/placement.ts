/**
 * Where a cluster's members go: one Postgres member and one etcd member per host, so that losing a
 * machine loses at most one of each (CloudNativePG's default pod anti-affinity, one member per
 * host in Autobase and Pigsty). Pure: the create and add-replica workflows decide with it, the CLI
 * refuses with it before anything starts.
 */
import type { HostName } from './inventory';

export interface PlacementHost {
  name: HostName;
  zone?: string;
  /** Members of every cluster it runs now: among equals, the emptier host is chosen. */
  load: number;
}

export interface PlacementRequest {
  postgres: string[];
  etcd: string[];
  /** Spread over zones first, then over hosts within a zone. */
  zoneSpread: boolean;
  /** Put two members of a kind on one host when there are not enough hosts, instead of refusing. */
  allowColocate: boolean;
}

export type Placement =
  | { postgres: Record<string, HostName>; etcd: Record<string, HostName>; colocated: boolean }
  | { problem: string };

const zoneOf = (h: PlacementHost): string => h.zone ?? '';

/**
 * Hosts in the order members take them: the least loaded first, and with zoneSpread one host per
 * zone in turn (a zone's second host only after every zone has given one).
 */
export function spreadOrder(hosts: readonly PlacementHost[], zoneSpread: boolean): PlacementHost[] {
  const byLoad = [...hosts].sort((a, b) => a.load - b.load || a.name.localeCompare(b.name));
  if (!zoneSpread) return byLoad;
  const zones = new Map<string, PlacementHost[]>();
  for (const h of byLoad) zones.set(zoneOf(h), [...(zones.get(zoneOf(h)) ?? []), h]);
  const queues = [...zones.values()];
  const out: PlacementHost[] = [];
  for (let round = 0; out.length < byLoad.length; round++) for (const q of queues) if (q[round]) out.push(q[round]);
  return out;
}

function assign(names: readonly string[], order: readonly PlacementHost[]): Record<string, HostName> {
  return Object.fromEntries(names.map((n, i) => [n, order[i % order.length].name]));
}

/**
 * Every member on its own host when there are enough; a single host takes everything (one host
 * behaves as dbaas always did). Otherwise a problem, unless allowColocate.
 */
export function placeCluster(req: PlacementRequest, hosts: readonly PlacementHost[]): Placement {
  if (hosts.length === 0) return { problem: 'no host is available' };
  const order = spreadOrder(hosts, req.zoneSpread);
  const needed = Math.max(req.postgres.length, req.etcd.length);
  const colocated = hosts.length > 1 && needed > hosts.length;
  if (colocated && !req.allowColocate) {
    return {
      problem:
        `${req.postgres.length} Postgres and ${req.etcd.length} etcd members need ${needed} hosts to run one of each per host, ` +
        `and ${hosts.length} are available (${hosts.map((h) => h.name).join(', ')}); add hosts (\`dbaas host add\`), ask for fewer members, or pass --allow-colocate`,
    };
  }
  const zones = new Set(hosts.map(zoneOf));
  if (req.zoneSpread && zones.size < needed && !req.allowColocate) {
    // A zone lost must take at most one member of each kind, as a host lost does.
    const named = [...zones].map((z) => z || '(none)').join(', ');
    return { problem: `--zone-spread: ${needed} members of a kind need ${needed} zones, and the hosts have ${zones.size} (${named}); give hosts zones (\`dbaas host add --zone\`) or pass --allow-colocate` };
  }
  return { postgres: assign(req.postgres, order), etcd: assign(req.etcd, order), colocated };
}

/**
 * The host for one more Postgres member: the fewest members of this cluster, then with zoneSpread
 * the zone with the fewest of them, then the least loaded. Undefined when none is left.
 */
export function pickHostForMember(clusterMembers: readonly HostName[], hosts: readonly PlacementHost[], o: { zoneSpread?: boolean; exclude?: readonly HostName[] } = {}): HostName | undefined {
  const count = (name: HostName): number => clusterMembers.filter((m) => m === name).length;
  const zoneCount = (zone: string): number => clusterMembers.filter((m) => zoneOf(hosts.find((h) => h.name === m) ?? { name: m, load: 0 }) === zone).length;
  const candidates = hosts.filter((h) => !(o.exclude ?? []).includes(h.name));
  candidates.sort(
    (a, b) =>
      count(a.name) - count(b.name) ||
      (o.zoneSpread ? zoneCount(zoneOf(a)) - zoneCount(zoneOf(b)) : 0) ||
      a.load - b.load ||
      a.name.localeCompare(b.name),
  );
  return candidates[0]?.name;
}
