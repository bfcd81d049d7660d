/** Whole-cluster activities: existence check and removal of everything labelled with the cluster. */
import type Docker from 'dockerode';
import { LABEL_CLUSTER } from '../common/names';
import { removeClusterResources, type RemovalReport } from './docker';
import { ErrorTypes, finalError } from './errors';
import { POSTGRES_STOP_TIMEOUT_SEC } from './patroni';

export interface ClusterFootprint {
  containers: number;
  networks: number;
  volumes: number;
}

export async function clusterFootprint(docker: Docker, cluster: string): Promise<ClusterFootprint> {
  const filters = { label: [`${LABEL_CLUSTER}=${cluster}`] };
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: c.length, networks: n.length, volumes: (v.Volumes ?? []).length };
}

export function createClusterActivities(docker: Docker) {
  return {
    /** Volumes alone (kept by `delete --keep-data`) do not count: create reuses them. */
    async assertClusterAbsent(cluster: string): Promise<void> {
      const f = await clusterFootprint(docker, cluster);
      if (f.containers > 0 || f.networks > 0) {
        throw finalError(ErrorTypes.ClusterExists, `cluster ${cluster} already exists`);
      }
    },

    async removeCluster(i: { cluster: string; keepData: boolean }): Promise<RemovalReport> {
      return removeClusterResources(docker, i.cluster, i.keepData, POSTGRES_STOP_TIMEOUT_SEC);
    },

    async clusterFootprint(cluster: string): Promise<ClusterFootprint> {
      return clusterFootprint(docker, cluster);
    },
  };
}
