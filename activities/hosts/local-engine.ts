/** The Docker engine of the machine this process runs on: members on its bridge networks are reached by their IP. */
import type Docker from 'dockerode';
import {
  clusterFilter, containersFromRows, memberEndpoint, networksFromRows, volumeFromRow,
  type ClusterNetwork, type Endpoint, type HelperContainer, type HostName, type HostVolume, type Member,
} from '../../common/inventory';
import { execIn, isNotFound, type ExecResult } from '../docker';
import type { ContainerExit, Host } from './host';

export class LocalEngine implements Host {
  constructor(
    readonly name: HostName,
    readonly engine: Docker,
    /** The host's address, where its members publish their service ports (an added host); none for this machine's engine. */
    readonly address?: string,
  ) {}

  async containers(cluster?: string): Promise<{ members: Member[]; helpers: HelperContainer[] }> {
    return containersFromRows(await this.engine.listContainers({ all: true, filters: clusterFilter(cluster) }), this.name);
  }

  async volumes(cluster?: string): Promise<HostVolume[]> {
    const { Volumes } = await this.engine.listVolumes({ filters: clusterFilter(cluster) });
    return (Volumes ?? []).map((v) => volumeFromRow(v, this.name));
  }

  async networks(cluster?: string): Promise<ClusterNetwork[]> {
    return networksFromRows(await this.engine.listNetworks({ filters: clusterFilter(cluster) }), this.name);
  }

  async lastExit(container: string): Promise<ContainerExit | undefined> {
    try {
      const s = (await this.engine.getContainer(container).inspect()).State;
      return { code: s.ExitCode, finishedAt: s.FinishedAt };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  endpoint(member: Member, port: number): Endpoint | undefined {
    return memberEndpoint(this.address, member, port);
  }

  exec(container: string, cmd: string[]): Promise<ExecResult> {
    return execIn(this.engine, container, cmd);
  }
}
