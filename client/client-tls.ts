/**
 * How a client on the control host reaches a cluster's PostgreSQL over TLS: the libpq
 * parameters `connect` prints and `psql` sets. verify-full checks the server's certificate
 * against the cluster CA and the address dialled (127.0.0.1 is in every server certificate).
 * A cluster made before TLS (no CA file) has none.
 */
import type { Paths } from '../common/paths';
import { caCertPath, clusterHasTls } from '../activities/cluster-ca-files';

export interface ClientTlsParams {
  sslmode: 'verify-full' | 'disable';
  /** Path of the cluster CA certificate, for sslmode=verify-full. */
  sslrootcert?: string;
}

export function clientTlsParams(paths: Paths, cluster: string): ClientTlsParams {
  return clusterHasTls(paths, cluster) ? { sslmode: 'verify-full', sslrootcert: caCertPath(paths, cluster) } : { sslmode: 'disable' };
}

/** `sslmode=…&sslrootcert=…` for a postgresql:// URI. */
export function uriTlsQuery(p: ClientTlsParams): string {
  return p.sslrootcert ? `sslmode=${p.sslmode}&sslrootcert=${encodeURIComponent(p.sslrootcert).replace(/%2F/g, '/')}` : `sslmode=${p.sslmode}`;
}
