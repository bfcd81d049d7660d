/**
 * Where a cluster's members go: one Postgres member and one etcd member per host, so that losing a
 * machine loses at most one of each (CloudNativePG's default pod anti-affinity, one member per
 * host in Autobase and Pigsty). Pure: the create and add-replica workflows decide with it, the CLI
 * refuses with it before anything starts.
 */
import type { RepositoryLocation } from './repository';
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

/** A host as the create workflow is offered it: its load and zone, where it publishes, whether it manages the swarm. */
export interface HostOffer extends PlacementHost {
  /** An added host's address (its members' published ports); none for this machine's engine. */
  address?: string;
  /** A swarm manager: only a manager creates the overlay network a cluster across hosts talks on. */
  swarmManager: boolean;
}

/** Where a new cluster's members go, and what that implies for its network and front door. */
export interface ClusterLayout {
  postgres: Record<string, HostName>;
  etcd: Record<string, HostName>;
  /**
   * The hosts that run HAProxy and the poolers, the cluster's front doors: every host with a
   * Postgres member (in member order), so a client reaches rw and ro through any host still up.
   */
  frontDoors: HostName[];
  /** Each host's address, for the hosts that have one (members publish their ports there). */
  addresses: Record<HostName, string>;
  /** The swarm manager that creates the overlay network, when the cluster spans hosts; none on this machine alone (a bridge). */
  overlayOn?: HostName;
}

export interface LayoutRequest extends Omit<PlacementRequest, 'zoneSpread' | 'allowColocate'> {
  zoneSpread?: boolean;
  allowColocate?: boolean;
  /** Where the new cluster's backups go (its repository's type), or null with --no-backups. */
  backups: RepositoryLocation['type'] | null;
  restore: boolean;
  /** Volumes kept by `delete --keep-data` exist for the name. */
  keptData: boolean;
}

/**
 * The layout of a new cluster over the hosts offered, or the one line that refuses it (the CLI
 * says it with exit 2 before anything starts; the workflow fails with it the same way).
 */
export function layoutCluster(req: LayoutRequest, offers: readonly HostOffer[]): ClusterLayout | { problem: string } {
  const placed = placeCluster({ ...req, zoneSpread: req.zoneSpread ?? false, allowColocate: req.allowColocate ?? false }, offers);
  if ('problem' in placed) return placed;
  const used = [...new Set([...Object.values(placed.postgres), ...Object.values(placed.etcd)])];
  const addresses = Object.fromEntries(offers.flatMap((h) => (h.address && used.includes(h.name) ? [[h.name, h.address]] : [])));
  const frontDoors = [...new Set(req.postgres.map((m) => placed.postgres[m]))];
  const onAddedHosts = used.some((h) => addresses[h] !== undefined);
  if (!onAddedHosts) return { postgres: placed.postgres, etcd: placed.etcd, frontDoors, addresses };
  // Not built yet for a cluster on added hosts: say so rather than make half of it.
  if (req.keptData) return { problem: 'data kept by `delete --keep-data` is not reused on added hosts yet: remove it (`dbaas cluster delete NAME`) or create while no host is added' };
  if (req.restore) return { problem: 'a restore onto added hosts is not built yet: restore while no host is added (`dbaas host list`)' };
  // Every member must reach the repository, and the one that leads may be on any host: a bucket
  // is reached from anywhere, the repository host and a volume are on one machine.
  if (req.backups !== null && req.backups !== 's3') {
    const where = req.backups === 'host' ? 'the repository host runs on this machine only' : 'a volume is on one host only';
    return { problem: `backups of a cluster on added hosts go to S3 (--backup-to s3://BUCKET[/PREFIX] with --s3-endpoint) or are off (--no-backups): ${where}` };
  }
  const manager = offers.find((h) => h.swarmManager && used.includes(h.name)) ?? offers.find((h) => h.swarmManager);
  if (!manager) return { problem: `no host offered is a swarm manager (${offers.map((h) => h.name).join(', ')}): a cluster across hosts needs one to create its overlay network` };
  return { postgres: placed.postgres, etcd: placed.etcd, frontDoors, addresses, overlayOn: manager.name };
}
