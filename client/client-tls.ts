/**
 * How a client on the control host reaches a cluster's PostgreSQL over TLS: the libpq
 * parameters `connect` prints and `psql` sets. A cluster made before TLS (no CA file) has none.
 */
import type { Paths } from '../common/paths';

export interface ClientTlsParams {
  sslmode: 'verify-full' | 'disable';
  /** Path of the cluster CA certificate, for sslmode=verify-full. */
  sslrootcert?: string;
}

export function clientTlsParams(_paths: Paths, _cluster: string): ClientTlsParams {
  return { sslmode: 'disable' };
}
