/**
 * The one answer to "which members does cluster X have, on which host, in which role, and how do I
 * reach them": activities and the CLI read through it, never through Docker labels of their own.
 * Over hosts that only read (`ReadInventory`, the CLI's: ./read-only-engine.ts) or hosts whose
 * engines also make and remove containers (`Inventory`, the workers'). No package is loaded here:
 * the CLI's `connect` starts in a few milliseconds.
 */
import type Docker from 'dockerode';
import { byMember, LOCAL_HOST, matches, type Endpoint, type HostName, type HostVolume, type Member, type MemberFilter } from '../../common/inventory';
import type { ClusterNetwork, HelperContainer, Host, HostReads } from './host';
import { FIRST_GENERATION, patroniScope } from '../../common/generations';

const LOOPBACK = '127.0.0.1';

/** A lost host's engine: its socket refuses or is gone, or it does not answer in time. */
const ANSWER_MS = 5000;
const UNANSWERED = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'UNANSWERED']);
const isUnanswered = (err: unknown): boolean => UNANSWERED.has((err as { code?: string }).code ?? '');

/** The read, or an UNANSWERED error once a host has had ANSWER_MS to answer. */
export function withinAnswerTime<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('the engine did not answer'), { code: 'UNANSWERED' })), ANSWER_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class Inventory<H extends HostReads = Host> {
  /**
   * The hosts, or how to list them now (a registry that changes while the worker runs); and
   * which generation of a cluster's PostgreSQL members serves (generation 1 unless a blue/green
   * upgrade recorded another, see activities/generations-file.ts).
   */
  constructor(
    private readonly source: readonly H[] | (() => readonly H[]),
    private readonly servingGeneration: (cluster: string) => number = () => FIRST_GENERATION,
  ) {}

  get hosts(): H[] {
    return [...(typeof this.source === 'function' ? this.source() : this.source)];
  }

  host(name: HostName = this.own): H {
    const hosts = this.hosts;
    const h = hosts.find((x) => x.name === name);
    if (!h) throw new Error(`host ${name} is not known to this worker (hosts: ${hosts.map((x) => x.name).join(', ')})`);
    return h;
  }

  /**
   * The engine of a host, for steps not yet on the Host interface; by default this worker's own
   * (the local engine, or a host worker's only host).
   */
  engine(this: Inventory<Host>, name: HostName = this.own): Docker {
    return this.host(name).engine;
  }

  /** The first host: the local engine on the control machine, the host itself in a host's worker. */
  get own(): HostName {
    return this.hosts[0]?.name ?? LOCAL_HOST;
  }

  /**
   * One read on every host. An added host whose engine does not answer (a lost machine) is left
   * out and named in `unreachable`; this machine's own engine not answering fails the read.
   */
  private async everyHost<T>(read: (h: H) => Promise<T[]>): Promise<{ items: T[]; unreachable: HostName[] }> {
    const results = await Promise.all(
      this.hosts.map(async (h) => {
        try {
          return { items: await withinAnswerTime(read(h)) };
        } catch (err) {
          if (h.name === this.own || !isUnanswered(err)) throw err;
          return { items: [] as T[], unreachable: h.name };
        }
      }),
    );
    return { items: results.flatMap((r) => r.items), unreachable: results.flatMap((r) => r.unreachable ?? []) };
  }

  /** A cluster's members on every host that answers, in member order (pg-2 before pg-10): the serving generation's unless the filter names one. */
  async members(cluster: string, f: MemberFilter = {}): Promise<Member[]> {
    return (await this.membersAndUnreachable(cluster, f)).members;
  }

  /**
   * The members, and the hosts that did not answer. A read that names new members must refuse
   * while a host is unreachable: it may hold members (and volumes) by the names it would reuse.
   */
  async membersAndUnreachable(cluster: string, f: MemberFilter = {}): Promise<{ members: Member[]; unreachable: HostName[] }> {
    const r = await this.everyHost(async (h) => (await h.containers(cluster)).members);
    const filter: MemberFilter = { ...f, generation: f.generation ?? this.servingGeneration(cluster) };
    return { members: r.items.filter((m) => matches(m, filter)).sort(byMember), unreachable: r.unreachable };
  }

  /** The Patroni scope of the serving generation: where its keys are in etcd (`/dbaas/<scope>/`). */
  servingScope(cluster: string): string {
    return patroniScope(cluster, this.servingGeneration(cluster));
  }

  /** Names of a cluster's members, in member order. */
  async memberNames(cluster: string, f: MemberFilter = {}): Promise<string[]> {
    return (await this.members(cluster, f)).map((m) => m.name);
  }

  /** A member by name, of whichever generation (names are unique across generations). */
  async member(cluster: string, name: string): Promise<Member | undefined> {
    return (await this.members(cluster, { generation: 'all' })).find((m) => m.name === name);
  }

  /** Containers labelled with the cluster (or with any cluster) on every host: members and helpers. */
  async containers(cluster?: string): Promise<{ members: Member[]; helpers: HelperContainer[] }> {
    const parts = (await this.everyHost(async (h) => [await h.containers(cluster)])).items;
    return { members: parts.flatMap((p) => p.members).sort(byMember), helpers: parts.flatMap((p) => p.helpers) };
  }

  async volumes(cluster?: string): Promise<HostVolume[]> {
    return (await this.everyHost((h) => h.volumes(cluster))).items;
  }

  async networks(cluster?: string): Promise<ClusterNetwork[]> {
    return (await this.everyHost((h) => h.networks(cluster))).items;
  }

  /** Where this process opens a member's service port; undefined when it does not run (or is out of reach). */
  endpoint(member: Member, port: number): Endpoint | undefined {
    return member.state === 'running' ? this.host(member.host).endpoint(member, port) : undefined;
  }

  /**
   * The address of the cluster's front door (HAProxy and the poolers publish rw, ro, stats and the
   * pooled ports there): its host's address, 127.0.0.1 on this machine's engine.
   */
  async frontDoor(cluster: string): Promise<string> {
    return (await this.frontDoors(cluster))[0];
  }

  /** Every front door that runs, on a host that answers (HAProxy runs on each host with a Postgres member); 127.0.0.1 on this machine. */
  async frontDoors(cluster: string): Promise<string[]> {
    const haproxies = await this.members(cluster, { kind: 'haproxy' });
    const running = haproxies.filter((m) => m.state === 'running');
    const addresses = [...new Set((running.length > 0 ? running : haproxies).map((m) => this.host(m.host).address ?? LOOPBACK))];
    return addresses.length > 0 ? addresses : [LOOPBACK];
  }

  /** One of the front door's ports (ClusterPorts) as an endpoint. */
  async frontDoorAt(cluster: string, port: number): Promise<Endpoint> {
    return { host: await this.frontDoor(cluster), port };
  }

  /** `endpoint` by member name (changes when the container restarts). */
  async endpointOf(cluster: string, name: string, port: number): Promise<Endpoint | undefined> {
    const m = await this.member(cluster, name);
    return m && this.endpoint(m, port);
  }
}

/** What the CLI reads through: the same answers, from hosts that only read. */
export type ReadInventory = Inventory<HostReads>;

/** The inventory of a single-host installation: the engine DOCKER_HOST names (or the one given). */
export function localInventory(docker?: Docker, servingGeneration?: (cluster: string) => number): Inventory {
  // Required here, not at the top: they load dockerode, which the CLI's reads do without.
  const { LocalEngine } = require('./local-engine') as typeof import('./local-engine');
  const Dockerode = require('dockerode') as typeof Docker;
  return new Inventory([new LocalEngine(LOCAL_HOST, docker ?? new Dockerode())], servingGeneration);
}
