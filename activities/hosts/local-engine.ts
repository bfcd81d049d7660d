/** The Docker engine of the machine this process runs on: members on its bridge networks are reached by their IP. */
import type Docker from 'dockerode';
import { memberFromRow, type Endpoint, type HostName, type HostVolume, type Member } from '../../common/inventory';
import { LABEL_CLUSTER, LABEL_MEMBER, LABEL_ROLE } from '../../common/labels';
import { FIRST_GENERATION, generationOfLabels } from '../../common/generations';
import { networkName } from '../../common/resource-names';
import { isNotFound } from '../docker';
import type { ClusterNetwork, ContainerExit, HelperContainer, Host } from './host';

const clusterFilter = (cluster?: string): { label: string[] } => ({ label: [cluster === undefined ? LABEL_CLUSTER : `${LABEL_CLUSTER}=${cluster}`] });

export class LocalEngine implements Host {
  constructor(
    readonly name: HostName,
    readonly engine: Docker,
    /** The host's address, where its members publish their service ports (an added host); none for this machine's engine. */
    readonly address?: string,
  ) {}

  async containers(cluster?: string): Promise<{ members: Member[]; helpers: HelperContainer[] }> {
    const rows = await this.engine.listContainers({ all: true, filters: clusterFilter(cluster) });
    const members: Member[] = [];
    const helpers: HelperContainer[] = [];
    for (const r of rows) {
      const c = r.Labels[LABEL_CLUSTER];
      const m = memberFromRow(r, this.name, networkName(c));
      if (m) members.push(m);
      else helpers.push({ host: this.name, cluster: c, container: r.Names[0]?.replace(/^\//, '') ?? '', role: r.Labels[LABEL_ROLE] ?? '' });
    }
    return { members, helpers };
  }

  async volumes(cluster?: string): Promise<HostVolume[]> {
    const { Volumes } = await this.engine.listVolumes({ filters: clusterFilter(cluster) });
    return (Volumes ?? []).map((v) => {
      // Labelled only after the first (common/generations.ts): absent, the volume is the first's or older than the label.
      const generation = generationOfLabels(v.Labels ?? {});
      return {
        name: v.Name,
        role: v.Labels?.[LABEL_ROLE] ?? '',
        ...(v.Labels?.[LABEL_MEMBER] ? { member: v.Labels[LABEL_MEMBER] } : {}),
        ...(generation > FIRST_GENERATION ? { generation } : {}),
        host: this.name,
        cluster: v.Labels?.[LABEL_CLUSTER] ?? '',
      };
    });
  }

  async networks(cluster?: string): Promise<ClusterNetwork[]> {
    const ns = await this.engine.listNetworks({ filters: clusterFilter(cluster) });
    return ns.flatMap((n) => (n.Labels?.[LABEL_CLUSTER] ? [{ host: this.name, name: n.Name, cluster: n.Labels[LABEL_CLUSTER] }] : []));
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

  /**
   * On a host with an address, the port its engine publishes there for the member (any machine
   * reaches it); otherwise its IP on the cluster network (this machine has a leg on every bridge
   * network of its engine).
   */
  endpoint(member: Member, port: number): Endpoint | undefined {
    if (this.address !== undefined) {
      const p = member.published[port];
      return p && p.ip === this.address ? { host: p.ip, port: p.port } : undefined;
    }
    return member.ip ? { host: member.ip, port } : undefined;
  }
}
