/**
 * Where a cluster's members live and how to reach them, as data: what the inventory
 * (activities/hosts/) reads from each host's Docker engine. Pure, so workflows and the CLI may
 * import it; the host is part of every member's address.
 */
import type { ContainerState } from './events';
import type { KeptVolume } from './kept-data';
import {
  LABEL_BACKUP_SERVER,
  LABEL_CLUSTER,
  LABEL_MEMBER,
  LABEL_NOFAILOVER,
  LABEL_PORT_PREFIX,
  LABEL_REPOSITORY,
  LABEL_ROLE,
  LABEL_SPEC,
  mountsRepository,
} from './labels';
import type { ClusterSettings } from './spec';
import { networkName } from './resource-names';
import { FIRST_GENERATION, generationOfLabels, inGeneration, type GenerationFilter } from './generations';

export type HostName = string;
/** The Docker engine of the machine the worker runs on; with one host everything lives here. */
export const LOCAL_HOST: HostName = 'local';

/** Where this process opens one of a member's service ports. */
export interface Endpoint {
  host: string;
  port: number;
}
export const hostPort = (e: Endpoint): string => `${e.host}:${e.port}`;

/** `metrics`: the exporters' container beside each HAProxy (never a PostgreSQL member). */
export type MemberKind = 'postgres' | 'etcd' | 'haproxy' | 'pgbouncer' | 'metrics';
const MEMBER_KINDS = new Set<string>(['postgres', 'etcd', 'haproxy', 'pgbouncer', 'metrics']);

/** How a member reaches its cluster's backup repository. */
export type RepositoryReach = 'volume' | 's3' | 'host';

export interface Member {
  cluster: string;
  /** pg-0, etcd-1, haproxy, ... (the dbaas.member label). */
  name: string;
  kind: MemberKind;
  /** The host whose engine runs the container. */
  host: HostName;
  /** Its container's name, which is also its DNS name on the cluster network. */
  container: string;
  state: ContainerState;
  /** When the container was made (ISO). */
  createdAt: string;
  /** Its address on the cluster network while it runs (changes when the container restarts). */
  ip: string | null;
  /** Ports the host publishes for it: container port → host address and port. */
  published: Record<number, { ip: string; port: number }>;
  /** dbaas.port.* labels (haproxy: base, rw, ro, stats; a member with a direct endpoint: direct). */
  portLabels: Record<string, number>;
  /** Made as a read-only member (Patroni's nofailover tag). */
  nofailover: boolean;
  /** How it reaches the cluster's backup repository, if it does. */
  repository: RepositoryReach | null;
  /** The port of its `pgbackrest server`, when it runs one. */
  backupServerPort: number | null;
  /** The settings the cluster was made with (postgres members only). */
  createdWith: ClusterSettings | null;
  /** Its generation (common/generations.ts): 1 but for a blue/green upgrade's new members. */
  generation: number;
}

/** A volume of a cluster, on the host that holds it. */
export interface HostVolume extends KeptVolume {
  cluster: string;
  host: HostName;
}

export interface ClusterNetwork {
  host: HostName;
  name: string;
  cluster: string;
}

/** A container labelled with a cluster that is not one of its members (a restore helper, a copy of its repository). */
export interface HelperContainer {
  host: HostName;
  cluster: string;
  container: string;
  role: string;
}

/** The fields of Docker's container list this module reads (`GET /containers/json`). */
export interface ContainerRow {
  Names: string[];
  Labels: Record<string, string>;
  State: string;
  Created: number;
  Mounts?: { Name?: string }[];
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number }[];
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** The fields of Docker's volume and network lists this module reads (`GET /volumes`, `GET /networks`). */
export interface VolumeRow {
  Name: string;
  Labels?: Record<string, string> | null;
}
export interface NetworkRow {
  Name: string;
  Labels?: Record<string, string> | null;
}

/** The label filter of Docker's lists: every cluster's resources, or one cluster's. */
export const clusterFilter = (cluster?: string): { label: string[] } => ({ label: [cluster === undefined ? LABEL_CLUSTER : `${LABEL_CLUSTER}=${cluster}`] });

const CONTAINER_STATES = new Set<string>(['running', 'exited', 'restarting', 'created', 'paused', 'dead', 'removing']);

/** One numeric order for member names everywhere: pg-2 before pg-10. */
export const byMemberName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });
export const byMember = (a: Pick<Member, 'name'>, b: Pick<Member, 'name'>): number => byMemberName(a.name, b.name);

/** The member a dbaas container is, or undefined for one that is not a cluster member (a helper, the repository host). */
export function memberFromRow(row: ContainerRow, host: HostName, network: string): Member | undefined {
  const l = row.Labels ?? {};
  const cluster = l[LABEL_CLUSTER];
  const kind = l[LABEL_ROLE];
  if (!cluster || !MEMBER_KINDS.has(kind)) return undefined;
  const container = row.Names[0]?.replace(/^\//, '') ?? '';
  const running = row.State === 'running';
  const ip = row.NetworkSettings?.Networks?.[network]?.IPAddress;
  const published: Member['published'] = {};
  for (const p of row.Ports ?? []) if (p.PublicPort !== undefined && p.IP) published[p.PrivatePort] ??= { ip: p.IP, port: p.PublicPort };
  const portLabels: Record<string, number> = {};
  for (const [k, v] of Object.entries(l)) if (k.startsWith(LABEL_PORT_PREFIX)) portLabels[k.slice(LABEL_PORT_PREFIX.length)] = Number(v);
  const reach = l[LABEL_REPOSITORY];
  return {
    cluster,
    name: l[LABEL_MEMBER] ?? container,
    kind: kind as MemberKind,
    host,
    container,
    state: CONTAINER_STATES.has(row.State) ? (row.State as ContainerState) : 'absent',
    createdAt: new Date(row.Created * 1000).toISOString(),
    ip: running && ip ? ip : null,
    published,
    portLabels,
    nofailover: l[LABEL_NOFAILOVER] === 'true',
    repository: mountsRepository(row, cluster) ? 'volume' : reach === 's3' || reach === 'host' ? reach : null,
    backupServerPort: l[LABEL_BACKUP_SERVER] ? Number(l[LABEL_BACKUP_SERVER]) : null,
    createdWith: kind === 'postgres' && l[LABEL_SPEC] ? (JSON.parse(l[LABEL_SPEC]) as ClusterSettings) : null,
    generation: generationOfLabels(l),
  };
}

/** A host's containers labelled with a cluster: its members, and the rest (helpers). */
export function containersFromRows(rows: ContainerRow[], host: HostName): { members: Member[]; helpers: HelperContainer[] } {
  const members: Member[] = [];
  const helpers: HelperContainer[] = [];
  for (const r of rows) {
    const c = r.Labels[LABEL_CLUSTER];
    const m = memberFromRow(r, host, networkName(c));
    if (m) members.push(m);
    else helpers.push({ host, cluster: c, container: r.Names[0]?.replace(/^\//, '') ?? '', role: r.Labels[LABEL_ROLE] ?? '' });
  }
  return { members, helpers };
}

export function volumeFromRow(v: VolumeRow, host: HostName): HostVolume {
  // Labelled only after the first (common/generations.ts): absent, the volume is the first's or older than the label.
  const generation = generationOfLabels(v.Labels ?? {});
  return {
    name: v.Name,
    role: v.Labels?.[LABEL_ROLE] ?? '',
    ...(v.Labels?.[LABEL_MEMBER] ? { member: v.Labels[LABEL_MEMBER] } : {}),
    ...(generation > FIRST_GENERATION ? { generation } : {}),
    host,
    cluster: v.Labels?.[LABEL_CLUSTER] ?? '',
  };
}

export function networksFromRows(rows: NetworkRow[], host: HostName): ClusterNetwork[] {
  return rows.flatMap((n) => (n.Labels?.[LABEL_CLUSTER] ? [{ host, name: n.Name, cluster: n.Labels[LABEL_CLUSTER] }] : []));
}

/**
 * Where this process opens a member's service port on its host: on a host with an address, the
 * port its engine publishes there for the member (any machine reaches it); otherwise its IP on the
 * cluster network (this machine has a leg on every bridge network of its engine).
 */
export function memberEndpoint(hostAddress: string | undefined, member: Member, port: number): Endpoint | undefined {
  if (hostAddress !== undefined) {
    const p = member.published[port];
    return p && p.ip === hostAddress ? { host: p.ip, port: p.port } : undefined;
  }
  return member.ip ? { host: member.ip, port } : undefined;
}

export interface MemberFilter {
  kind?: MemberKind;
  /** Only members whose container runs. */
  running?: boolean;
  /**
   * Which generation's PostgreSQL members (the inventory's default: the serving one). etcd,
   * HAProxy and the poolers belong to the cluster, not to a generation: always included.
   */
  generation?: GenerationFilter;
}

export function matches(m: Member, f: MemberFilter): boolean {
  return (f.kind === undefined || m.kind === f.kind) && (!f.running || m.state === 'running') &&
    (f.generation === undefined || m.kind !== 'postgres' || inGeneration(m.generation, f.generation));
}

/** Whether the Postgres members reach the backup repository: all (on), none (off), some (an interrupted `backup enable`). */
export function backupsState(postgres: Member[]): 'on' | 'off' | 'partial' {
  const reaching = postgres.filter((m) => m.repository !== null).length;
  return reaching === 0 ? 'off' : reaching === postgres.length ? 'on' : 'partial';
}

/** The Postgres members whose containers run: the ones that can answer Patroni's API. */
export const RUNNING_POSTGRES: MemberFilter = { kind: 'postgres', running: true };
