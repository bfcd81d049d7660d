/** Where a cluster lives in etcd. */
import { containerName } from './resource-names';

/** Patroni DCS namespace; the scope below it is the cluster name. */
export const PATRONI_NAMESPACE = '/dbaas/';
/** Every key Patroni keeps for one cluster starts with this (the slash keeps `a` out of `ab`'s keys). */
export const dcsPrefix = (cluster: string): string => `${PATRONI_NAMESPACE}${cluster}/`;

/** etcd client endpoints as host:port, reachable by container DNS name on the cluster network. */
export function etcdHostList(cluster: string, etcdMembers: string[], port: number): string[] {
  return etcdMembers.map((m) => `${containerName(cluster, m)}:${port}`);
}
