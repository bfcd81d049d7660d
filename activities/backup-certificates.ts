/**
 * Certificates for pgBackRest's TLS servers and clients. Both ends check the purpose (measured
 * with 2.45): a serverAuth-only client certificate is refused by the server (the client reads
 * "sslv3 alert unsupported certificate"), and a clientAuth-only server certificate by the client
 * ("unable to verify certificate presented by 'HOST:8432': [26] unsuitable certificate purpose").
 *
 * A member's certificate serves both ends (its server for backups from a standby, its client
 * towards the other members), from the cluster's CA. The repository host's stanza servers and
 * their clients have certificates from one authority of their own (REPOSITORY_HOST_AUTHORITY),
 * made and kept like a cluster's CA (cluster-tls.ts, DBAAS_HOME/tls/<name>).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { BACKUP_SERVER_TLS } from '../common/render/pgbackrest';
import type { IssuedCertificate } from './cluster-tls';
import type { FileToPut } from './docker';

/**
 * The CA name of the repository host's stanza servers under DBAAS_HOME/tls: not a cluster name
 * (those are DNS labels, without '_'), so no cluster's CA is ever taken for it.
 */
export const REPOSITORY_HOST_AUTHORITY = '_repository-host';

export const PGBACKREST_PURPOSES = [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];

/**
 * The certificate, its key and a CA as a member's pgBackRest files, owned by uid, the user running
 * pgBackRest: pgBackRest refuses a key that others can read or that another user owns.
 */
export function tlsFilesAt(issued: Pick<IssuedCertificate, 'certPem' | 'keyPem'>, caPem: string, uid: number): FileToPut[] {
  const file = (path: string, content: string, mode: number): FileToPut => {
    const slash = path.lastIndexOf('/');
    return { dir: path.slice(0, slash), name: path.slice(slash + 1), content, mode, uid, gid: uid };
  };
  return [file(BACKUP_SERVER_TLS.key, issued.keyPem, 0o600), file(BACKUP_SERVER_TLS.cert, issued.certPem, 0o644), file(BACKUP_SERVER_TLS.ca, caPem, 0o644)];
}
