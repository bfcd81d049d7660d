/**
 * A host's engine read through ./engine-api.ts: the reads of ./host.ts without dockerode, for the
 * CLI's `connect` and `cluster status`. Answers are parsed as ./local-engine.ts parses dockerode's.
 */
import {
  clusterFilter, containersFromRows, LOCAL_HOST, memberEndpoint, networksFromRows, volumeFromRow,
  type ClusterNetwork, type ContainerRow, type Endpoint, type HelperContainer, type HostName, type HostVolume, type Member, type NetworkRow, type VolumeRow,
} from '../../common/inventory';
import * as fs from 'node:fs';
import { EngineApi, type ExecResult } from './engine-api';
import type { VolumeUse } from '../../common/volume-use';
import type { HostReads } from './host';
import { hostSocketPath, machineHosts } from './host-records';
import { Inventory, type ReadInventory } from './inventory';
import type { Paths } from '../../common/paths';
import { servingGeneration } from '../generations-file';

export class ReadOnlyEngine implements HostReads {
  constructor(
    readonly name: HostName,
    readonly api: EngineApi,
    /** The host's address, where its members publish their service ports (an added host); none for this machine's engine. */
    readonly address?: string,
  ) {}

  async containers(cluster?: string): Promise<{ members: Member[]; helpers: HelperContainer[] }> {
    return containersFromRows(await this.api.get<ContainerRow[]>('/containers/json', { all: 'true', filters: clusterFilter(cluster) }), this.name);
  }

  async volumes(cluster?: string): Promise<HostVolume[]> {
    const { Volumes } = await this.api.get<{ Volumes: VolumeRow[] | null }>('/volumes', { filters: clusterFilter(cluster) });
    return (Volumes ?? []).map((v) => volumeFromRow(v, this.name));
  }

  async networks(cluster?: string): Promise<ClusterNetwork[]> {
    return networksFromRows(await this.api.get<NetworkRow[]>('/networks', { filters: clusterFilter(cluster) }), this.name);
  }

  endpoint(member: Member, port: number): Endpoint | undefined {
    return memberEndpoint(this.address, member, port);
  }

  exec(container: string, cmd: string[]): Promise<ExecResult> {
    return this.api.exec(container, cmd);
  }

  /**
   * An engine behind a unix socket runs on this machine, its volumes in this file system: statfs
   * of the mount's source gives what `df` in the container prints (the same file system), for a
   * few milliseconds instead of an exec (~0.1 s each, on the 2 cores the status shares).
   */
  async mountUse(container: string, destination: string): Promise<VolumeUse | undefined> {
    if (!('socketPath' in this.api.address)) return undefined;
    const inspected = await this.api.get<{ Mounts?: { Source?: string; Destination?: string }[] }>(`/containers/${encodeURIComponent(container)}/json`);
    const source = inspected.Mounts?.find((m) => m.Destination === destination)?.Source;
    if (!source) return undefined;
    try {
      const s = await fs.promises.statfs(source);
      return { usedBytes: (s.blocks - s.bfree) * s.bsize, sizeBytes: s.blocks * s.bsize };
    } catch {
      // Not visible from here (another mount namespace, no permission): the caller runs df.
      return undefined;
    }
  }
}

/** The CLI's inventory of this machine: the engine at `local` (host `local`) and every added host, by its socket. */
export function machineReadInventory(paths: Paths, local: EngineApi): ReadInventory {
  const hosts = machineHosts<HostReads>(paths, new ReadOnlyEngine(LOCAL_HOST, local), (h) => new ReadOnlyEngine(h.name, new EngineApi({ socketPath: hostSocketPath(h) }), h.address));
  return new Inventory(hosts, (cluster) => servingGeneration(paths, cluster));
}
