/**
 * Certificates for pgBackRest's TLS servers and clients (the repository host layout,
 * common/render/pgbackrest-host.ts). One certificate per host serves both ends: pgBackRest uses it
 * as the host's `pgbackrest server` certificate and as its client certificate towards the other
 * hosts, so it carries both purposes. Both ends check the purpose (measured with 2.45): a
 * serverAuth-only client certificate is refused by the server (the client reads "sslv3 alert
 * unsupported certificate"), and a clientAuth-only server certificate by the client ("unable to
 * verify certificate presented by 'HOST:8432': [26] unsuitable certificate purpose").
 *
 * They are issued by a CA made and kept like a cluster's (cluster-tls.ts, DBAAS_HOME/tls/<name>):
 * the cluster's own CA, or one authority for the repository host's hosts
 * (REPOSITORY_HOST_AUTHORITY); every host of one layout must trust the one that issued the others.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { Paths } from '../common/paths';
import { PGBACKREST_TLS, pgbackrestIdentity } from '../common/render/pgbackrest-host';
import { ensureClusterCa, issueCertificate, readCaCert, type IssuedCertificate } from './cluster-tls';
import type { FileToPut } from './docker';

/**
 * The CA name of the repository host's layout under DBAAS_HOME/tls: not a cluster name (those are
 * DNS labels, without '_'), so no cluster's CA is ever taken for it.
 */
export const REPOSITORY_HOST_AUTHORITY = '_repository-host';

export const PGBACKREST_PURPOSES = [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];

/** Make the authority's CA unless it exists (idempotent; two racing attempts leave one CA). */
export function ensurePgbackrestAuthority(paths: Paths, authority: string = REPOSITORY_HOST_AUTHORITY): Promise<void> {
  return ensureClusterCa(paths, authority);
}

/** A new certificate (and key) for the host: CN and DNS name = the host's name, server and client purposes. */
export function issuePgbackrestCertificate(paths: Paths, authority: string, host: string): Promise<IssuedCertificate> {
  return issueCertificate(paths, authority, pgbackrestIdentity(host), PGBACKREST_PURPOSES);
}

/**
 * The files a host needs at PGBACKREST_TLS, owned by uid, the user running pgBackRest:
 * pgBackRest refuses a key that others can read or that another user owns. Put them in before
 * `pgbackrest server` starts; no key is kept on this host.
 */
export async function pgbackrestTlsFiles(paths: Paths, authority: string, host: string, uid: number): Promise<FileToPut[]> {
  const issued = await issuePgbackrestCertificate(paths, authority, host);
  return tlsFilesAt(issued, readCaCert(paths, authority), uid);
}

/** The certificate, its key and a CA as files at PGBACKREST_TLS. */
export function tlsFilesAt(issued: Pick<IssuedCertificate, 'certPem' | 'keyPem'>, caPem: string, uid: number): FileToPut[] {
  const file = (path: string, content: string, mode: number): FileToPut => {
    const slash = path.lastIndexOf('/');
    return { dir: path.slice(0, slash), name: path.slice(slash + 1), content, mode, uid, gid: uid };
  };
  return [file(PGBACKREST_TLS.key, issued.keyPem, 0o600), file(PGBACKREST_TLS.cert, issued.certPem, 0o644), file(PGBACKREST_TLS.ca, caPem, 0o644)];
}
