/**
 * The one answer to "which members does cluster X have, on which host, in which role, and how do I
 * reach them": activities and the CLI read through it, never through Docker labels of their own.
 */
import Docker from 'dockerode';
import { byMember, LOCAL_HOST, matches, type Endpoint, type HostName, type HostVolume, type Member, type MemberFilter } from '../../common/inventory';
import type { ClusterNetwork, HelperContainer, Host } from './host';
import { LocalEngine } from './local-engine';

export class Inventory {
  private readonly byName: Map<HostName, Host>;

  constructor(hosts: readonly Host[]) {
    this.byName = new Map(hosts.map((h) => [h.name, h]));
  }

  get hosts(): Host[] {
    return [...this.byName.values()];
  }

  host(name: HostName = this.own): Host {
    const h = this.byName.get(name);
    if (!h) throw new Error(`host ${name} is not known to this worker (hosts: ${[...this.byName.keys()].join(', ')})`);
    return h;
  }

  /**
   * The engine of a host, for steps not yet on the Host interface; by default this worker's own
   * (the local engine, or a host worker's only host).
   */
  engine(name: HostName = this.own): Docker {
    return this.host(name).engine;
  }

  /** The first host: the local engine on the control machine, the host itself in a host's worker. */
  get own(): HostName {
    return this.hosts[0]?.name ?? LOCAL_HOST;
  }

  /** A cluster's members on every host, in member order (pg-2 before pg-10). */
  async members(cluster: string, f: MemberFilter = {}): Promise<Member[]> {
    const all = (await Promise.all(this.hosts.map((h) => h.containers(cluster)))).flatMap((c) => c.members);
    return all.filter((m) => matches(m, f)).sort(byMember);
  }

  /** Names of a cluster's members, in member order. */
  async memberNames(cluster: string, f: MemberFilter = {}): Promise<string[]> {
    return (await this.members(cluster, f)).map((m) => m.name);
  }

  async member(cluster: string, name: string): Promise<Member | undefined> {
    return (await this.members(cluster)).find((m) => m.name === name);
  }

  /** Containers labelled with the cluster (or with any cluster) on every host: members and helpers. */
  async containers(cluster?: string): Promise<{ members: Member[]; helpers: HelperContainer[] }> {
    const parts = await Promise.all(this.hosts.map((h) => h.containers(cluster)));
    return { members: parts.flatMap((p) => p.members).sort(byMember), helpers: parts.flatMap((p) => p.helpers) };
  }

  async volumes(cluster?: string): Promise<HostVolume[]> {
    return (await Promise.all(this.hosts.map((h) => h.volumes(cluster)))).flat();
  }

  async networks(cluster?: string): Promise<ClusterNetwork[]> {
    return (await Promise.all(this.hosts.map((h) => h.networks(cluster)))).flat();
  }

  /** Where this process opens a member's service port; undefined when it does not run (or is out of reach). */
  endpoint(member: Member, port: number): Endpoint | undefined {
    return member.state === 'running' ? this.host(member.host).endpoint(member, port) : undefined;
  }

  /** `endpoint` by member name (changes when the container restarts). */
  async endpointOf(cluster: string, name: string, port: number): Promise<Endpoint | undefined> {
    const m = await this.member(cluster, name);
    return m && this.endpoint(m, port);
  }
}

/** The inventory of a single-host installation: the engine DOCKER_HOST names (or the one given). */
export function localInventory(docker: Docker = new Docker()): Inventory {
  return new Inventory([new LocalEngine(LOCAL_HOST, docker)]);
}
