/** etcd command line for one member. Pure. */
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from '../service-ports';
import { containerName } from '../resource-names';

export const ETCD_DATA_ROOT = '/var/lib/dbaas-etcd';

export interface EtcdRenderInput {
  cluster: string;
  member: string;
  members: string[];
  /** Joins a running etcd cluster (`member add` made room for it) instead of forming a new one. */
  joinExisting?: boolean;
}

/** Arguments after the `etcd` entrypoint. */
export function renderEtcdArgs(i: EtcdRenderInput): string[] {
  const host = (m: string): string => containerName(i.cluster, m);
  const initialCluster = i.members.map((m) => `${m}=http://${host(m)}:${ETCD_PEER_PORT}`).join(',');
  return [
    `--name=${i.member}`,
    `--data-dir=${ETCD_DATA_ROOT}/data`,
    `--listen-client-urls=http://0.0.0.0:${ETCD_CLIENT_PORT}`,
    `--advertise-client-urls=http://${host(i.member)}:${ETCD_CLIENT_PORT}`,
    `--listen-peer-urls=http://0.0.0.0:${ETCD_PEER_PORT}`,
    `--initial-advertise-peer-urls=http://${host(i.member)}:${ETCD_PEER_PORT}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-state=${i.joinExisting ? 'existing' : 'new'}`,
    `--initial-cluster-token=dbaas-${i.cluster}`,
    // Patroni's etcd3 client talks to the v3 gRPC gateway; keep the store small.
    '--auto-compaction-retention=1',
  ];
}
