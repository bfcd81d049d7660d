/**
 * Where a cluster's CA is in DBAAS_HOME (tls/<cluster>/), and whether it has one: what clients
 * need (`connect`, `psql`), without the x509 code that makes and signs (./cluster-tls.ts).
 */
import * as fs from 'node:fs';
import type { Paths } from '../common/paths';
import { insideHome } from './home-paths';

export function tlsDir(paths: Paths, cluster: string): string {
  return insideHome(paths, 'tls', cluster);
}

export function caCertPath(paths: Paths, cluster: string): string {
  return `${tlsDir(paths, cluster)}/ca.crt`;
}

/** TLS is on for a cluster iff its CA exists. */
export function clusterHasTls(paths: Paths, cluster: string): boolean {
  return fs.existsSync(caCertPath(paths, cluster));
}

export function readCaCert(paths: Paths, cluster: string): string {
  return fs.readFileSync(caCertPath(paths, cluster), 'utf8');
}
