/**
 * A member's `pgbackrest server` (TLS): the backup, which runs on the leader, reads the data files
 * from a standby through it. Every member of a cluster with TLS runs one beside Patroni, with a
 * certificate from the cluster's CA whose DNS name is the member's container (what the leader
 * checks) and whose CN is the cluster's one backup peer (what the server authorizes).
 */
import type { Paths } from '../common/paths';
import { LABEL_BACKUP_SERVER } from '../common/labels';
import { POSTGRES_UID } from '../common/service-users';
import { containerName } from '../common/resource-names';
import { PATRONI_CONFIG_PATH } from '../common/render/patroni';
import { BACKUP_SERVER_PORT, backupPeerName } from '../common/render/pgbackrest';
import { issueCertificate, readCaCert } from './cluster-tls';
import { PGBACKREST_PURPOSES, tlsFilesAt } from './backup-certificates';
import type { FileToPut } from './docker';

/**
 * Patroni stays the container's main process (tini forwards signals to it); the server runs
 * beside it and is started again if it ever exits. Its config is the member's pgbackrest.conf.
 */
const MEMBER_COMMAND = ['sh', '-c', `while :; do pgbackrest server; sleep 1; done & exec patroni ${PATRONI_CONFIG_PATH}`];

export interface MemberBackupServer {
  cmd: string[];
  labels: Record<string, string>;
  files: FileToPut[];
  /** Of the certificate in `files`. */
  serial: string;
}

/**
 * Run in the member (as postgres): the server and the children serving connections end, and the
 * member's loop starts it again within a second, reading its certificate anew. The image has no
 * ps or pkill: the processes are found by their command line.
 */
export const RESTART_MEMBER_BACKUP_SERVER = ['sh', '-c', `for p in /proc/[0-9]*; do [ "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null)" = 'pgbackrest server ' ] && kill "\${p#/proc/}" 2>/dev/null; done; true`];

export async function memberBackupServer(paths: Paths, cluster: string, member: string): Promise<MemberBackupServer> {
  const issued = await issueCertificate(paths, cluster, { commonName: backupPeerName(cluster), dnsNames: [containerName(cluster, member)], ips: [] }, PGBACKREST_PURPOSES);
  return { cmd: MEMBER_COMMAND, labels: { [LABEL_BACKUP_SERVER]: String(BACKUP_SERVER_PORT) }, files: tlsFilesAt(issued, readCaCert(paths, cluster), POSTGRES_UID), serial: issued.serial };
}
