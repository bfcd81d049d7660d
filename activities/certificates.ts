/**
 * `cluster rotate-certs`: new server certificates into running PostgreSQL members and PgBouncer
 * poolers, then a reload. PostgreSQL and PgBouncer load the new pair for new connections on
 * SIGHUP; open connections keep theirs, so no query fails and nothing restarts. pgBackRest's
 * servers (a member's, and the stanza's on the repository host) read theirs at start: they
 * restart, which no client query notices.
 */
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { LABEL_BACKUP_SERVER } from '../common/labels';
import { PG_PORT } from '../common/service-ports';
import { SUPERUSER } from '../common/service-users';
import { containerName } from '../common/resource-names';
import { BACKUP_SERVER_PORT, backupPeerName } from '../common/render/pgbackrest';
import { SOCKET_DIR } from '../common/render/patroni';
import { PGBOUNCER_PORT } from '../common/render/pgbouncer';
import { execIn, putFiles } from './docker';
import { clusterHasTls, issueCertificate, readCaCert } from './cluster-tls';
import { PGBACKREST_PURPOSES } from './backup-certificates';
import { RESTART_MEMBER_BACKUP_SERVER, memberBackupServer } from './backup-server';
import { readRepositoryLocation } from './backup-settings';
import { memberRepositoryClientFiles } from './repository-access';
import { renewStanzaServerCertificate } from './repository-host/host';
import { memberTlsFiles } from './patroni';
import { poolerTlsFiles } from './pgbouncer';
import { presentedCertificate, presentedTlsCertificate, waitForPresentedSerial } from './tls-probe';

export type ServerKind = 'postgres' | 'pgbouncer';

export interface RotatedCertificate {
  member: string;
  /** Serial of the new certificate; null when the container is not running (it gets a new one when it starts). */
  serial: string | null;
  /** A member's pgBackRest server: the serial it presents now (its own certificate, renewed with the server's). */
  backupServerSerial?: string;
}

export function createCertificateActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  async function install(cluster: string, member: string, kind: ServerKind): Promise<RotatedCertificate> {
    const name = containerName(cluster, member);
    const container = docker.getContainer(name);
    const info = await container.inspect();
    if (!info.State.Running) return { member, serial: null };
    const { files, serial } = kind === 'postgres' ? await memberTlsFiles(paths, cluster, member) : await poolerTlsFiles(paths, cluster, member);
    await putFiles(container, files);
    if (kind === 'postgres') {
      // Over the socket as the postgres OS user (the image's user; peer auth): no password anywhere.
      const r = await execIn(docker, name, ['psql', '-h', SOCKET_DIR, '-U', SUPERUSER, '-d', 'postgres', '-Atc', 'select pg_reload_conf()']);
      if (r.exitCode !== 0) throw new Error(`reload on ${member} failed: ${r.output.trim()}`);
      if (info.Config.Labels?.[LABEL_BACKUP_SERVER]) return { member, serial, backupServerSerial: await renewBackupCertificates(cluster, member) };
    } else {
      // tini (PID 1) passes SIGHUP on to pgbouncer, which reloads its config and TLS files.
      await container.kill({ signal: 'SIGHUP' });
    }
    return { member, serial };
  }

  /**
   * The member's pgBackRest certificates: its server's (restarted on it, which only a backup
   * uses, and backups wait for the lease this rotation holds) and, on the repository host
   * layout, its client certificate for the stanza's server (read by each WAL push).
   */
  async function renewBackupCertificates(cluster: string, member: string): Promise<string> {
    const name = containerName(cluster, member);
    const server = await memberBackupServer(paths, cluster, member);
    await putFiles(docker.getContainer(name), [...server.files, ...(await memberRepositoryClientFiles(paths, cluster))]);
    const r = await execIn(docker, name, RESTART_MEMBER_BACKUP_SERVER);
    if (r.exitCode !== 0) throw new Error(`restarting the pgBackRest server on ${member} failed: ${r.output.trim()}`);
    const at = await inv.endpointOf(cluster, member, BACKUP_SERVER_PORT);
    if (!at) throw new Error(`${member} is not running`);
    const peer = await issueCertificate(paths, cluster, { commonName: backupPeerName(cluster), dnsNames: [name], ips: [] }, PGBACKREST_PURPOSES);
    await waitForPresentedSerial(() => presentedTlsCertificate(at.host, at.port, name, readCaCert(paths, cluster), peer), server.serial, `the pgBackRest server on ${member}`);
    return server.serial;
  }

  return {
    async clusterHasTls(cluster: string): Promise<boolean> {
      return clusterHasTls(paths, cluster);
    },

    async rotateServerCertificate(i: { cluster: string; member: string; kind: ServerKind }): Promise<RotatedCertificate> {
      return install(i.cluster, i.member, i.kind);
    },

    /** The stanza server of a cluster that backs up to the repository host: a new certificate, restarted on it; its serial, or null for another repository. */
    async rotateRepositoryServerCertificate(cluster: string): Promise<string | null> {
      if (readRepositoryLocation(paths, cluster).type !== 'host') return null;
      return renewStanzaServerCertificate(docker, paths, cluster);
    },

    /** The serial a new connection to the server sees (inside the cluster network, by container address). */
    async presentedSerial(i: { cluster: string; member: string; kind: ServerKind }): Promise<string> {
      const name = containerName(i.cluster, i.member);
      const at = await inv.endpointOf(i.cluster, i.member, i.kind === 'postgres' ? PG_PORT : PGBOUNCER_PORT);
      if (!at) throw new Error(`${i.member} is not running`);
      const c = await presentedCertificate(at.host, at.port, name, readCaCert(paths, i.cluster));
      return c.serial;
    },
  };
}
