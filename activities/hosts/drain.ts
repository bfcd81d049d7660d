/**
 * What `host drain` reads and removes: which clusters run on a host, where each member of a
 * cluster runs, and a front door taken off a host. The moves themselves are the usual member
 * steps (AddReplica, Switchover, RemoveReplica, the etcd member steps).
 */
import type { Inventory } from './inventory';
import { isFrontDoor } from '../../common/labels';
import type { HostName } from '../../common/inventory';
import { removeClusterContainers } from '../docker';

export interface MemberPlace {
  name: string;
  host: HostName;
}

/** Where a cluster's members run, by kind, and every name that still has a container or a volume. */
export interface ClusterPlaces {
  postgres: MemberPlace[];
  etcd: MemberPlace[];
  frontDoors: HostName[];
  namesInUse: string[];
}

/** A front door's containers get this long to stop: its clients moved to the other front doors. */
const FRONT_DOOR_STOP_TIMEOUT_SEC = 5;

export function createDrainActivities(inv: Inventory) {
  return {
    /** The clusters with any container on the host (sorted). */
    async clustersOnHost(host: HostName): Promise<string[]> {
      const { members } = await inv.host(host).containers();
      return [...new Set(members.map((m) => m.cluster))].sort();
    },

    /** Where each of the cluster's members runs (every host must answer: a drain moves members by what it sees). */
    async clusterPlaces(cluster: string): Promise<ClusterPlaces> {
      const { members, unreachable } = await inv.membersAndUnreachable(cluster);
      if (unreachable.length > 0) throw new Error(`host ${unreachable.join(', ')} does not answer: where ${cluster}'s members run is not known`);
      const volumes = await inv.volumes(cluster);
      const of = (kind: string): MemberPlace[] => members.filter((m) => m.kind === kind).map((m) => ({ name: m.name, host: m.host })).sort((a, b) => a.name.localeCompare(b.name));
      return {
        postgres: of('postgres'),
        etcd: of('etcd'),
        frontDoors: [...new Set(members.filter((m) => m.kind === 'haproxy').map((m) => m.host))].sort(),
        namesInUse: [...new Set([...members.map((m) => m.name), ...volumes.map((v) => v.member ?? '').filter(Boolean)])],
      };
    },

    /** Remove the cluster's HAProxy, poolers and metrics container from one host (its other front doors stay). */
    async removeFrontDoor(i: { cluster: string; host: HostName }): Promise<number> {
      return removeClusterContainers(inv.engine(i.host), i.cluster, FRONT_DOOR_STOP_TIMEOUT_SEC, isFrontDoor);
    },
  };
}
