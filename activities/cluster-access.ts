/**
 * What the worker presents to a cluster's Patroni REST API and etcd, read from the secrets file
 * when the request is made (never an activity argument, so never in a workflow history). A
 * cluster made before REST API and etcd authentication has none of these passwords: its requests
 * go without, as they always did. Patroni without `restapi.authentication` ignores the header,
 * and etcd without authentication answers a login with "not enabled" (see etcd-gateway).
 */
import type { Paths } from '../common/paths';
import { ETCD_PATRONI_USER, ETCD_ROOT_USER, PATRONI_API_USER } from '../common/service-users';
import type { EtcdUser } from './etcd-gateway';
import { ErrorTypes, finalError } from './errors';
import { clusterSecretsExist, readClusterSecrets } from './secrets';

export interface ClusterAccess {
  /** Headers for Patroni's unsafe requests (PATCH, POST): Basic authentication, or none. */
  patroniHeaders: Record<string, string>;
  /** The etcd user limited to the cluster's key prefix, or none. */
  etcdUser?: EtcdUser;
}

export function clusterAccess(paths: Paths, cluster: string): ClusterAccess {
  if (!clusterSecretsExist(paths, cluster)) return { patroniHeaders: {} };
  const s = readClusterSecrets(paths, cluster);
  return {
    patroniHeaders: s.patroniApi
      ? { authorization: `Basic ${Buffer.from(`${PATRONI_API_USER}:${s.patroniApi}`, 'utf8').toString('base64')}` }
      : {},
    etcdUser: s.etcdPatroni ? { name: ETCD_PATRONI_USER, password: s.etcdPatroni } : undefined,
  };
}

/** etcd's root user and the Patroni user's password, for the step that turns authentication on. */
export function etcdAuthUsers(paths: Paths, cluster: string): { root: EtcdUser; patroni: EtcdUser } {
  const s = readClusterSecrets(paths, cluster);
  if (!s.etcdRoot || !s.etcdPatroni) {
    throw finalError(ErrorTypes.SecretsMissing, `the secrets of ${cluster} have no etcd passwords`);
  }
  return { root: { name: ETCD_ROOT_USER, password: s.etcdRoot }, patroni: { name: ETCD_PATRONI_USER, password: s.etcdPatroni } };
}
