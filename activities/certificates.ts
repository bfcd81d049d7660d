/**
 * `cluster rotate-certs`: new server certificates into running PostgreSQL members and PgBouncer
 * poolers, then a reload. PostgreSQL and PgBouncer load the new pair for new connections on
 * SIGHUP; open connections keep theirs, so no query fails and nothing restarts.
 */
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { PG_PORT, SUPERUSER, containerName } from '../common/names';
import { SOCKET_DIR } from '../common/render/patroni';
import { PGBOUNCER_PORT } from '../common/render/pgbouncer';
import { containerIp, execIn, tarOf } from './docker';
import { clusterHasTls, readCaCert } from './cluster-tls';
import { memberTlsFiles } from './patroni';
import { poolerTlsFiles } from './pgbouncer';
import { presentedCertificate } from './tls-probe';

export type ServerKind = 'postgres' | 'pgbouncer';

export interface RotatedCertificate {
  member: string;
  /** Serial of the new certificate; null when the container is not running (it gets a new one when it starts). */
  serial: string | null;
}

export function createCertificateActivities(docker: Docker, paths: Paths) {
  async function install(cluster: string, member: string, kind: ServerKind): Promise<RotatedCertificate> {
    const name = containerName(cluster, member);
    const container = docker.getContainer(name);
    const info = await container.inspect();
    if (!info.State.Running) return { member, serial: null };
    const { files, serial } = kind === 'postgres' ? await memberTlsFiles(paths, cluster, member) : await poolerTlsFiles(paths, cluster, member);
    for (const f of files) await container.putArchive(await tarOf(f), { path: f.dir });
    if (kind === 'postgres') {
      // Over the socket as the postgres OS user (the image's user; peer auth): no password anywhere.
      const r = await execIn(docker, name, ['psql', '-h', SOCKET_DIR, '-U', SUPERUSER, '-d', 'postgres', '-Atc', 'select pg_reload_conf()']);
      if (r.exitCode !== 0) throw new Error(`reload on ${member} failed: ${r.output.trim()}`);
    } else {
      // tini (PID 1) passes SIGHUP on to pgbouncer, which reloads its config and TLS files.
      await container.kill({ signal: 'SIGHUP' });
    }
    return { member, serial };
  }

  return {
    async clusterHasTls(cluster: string): Promise<boolean> {
      return clusterHasTls(paths, cluster);
    },

    async rotateServerCertificate(i: { cluster: string; member: string; kind: ServerKind }): Promise<RotatedCertificate> {
      return install(i.cluster, i.member, i.kind);
    },

    /** The serial a new connection to the server sees (inside the cluster network, by container address). */
    async presentedSerial(i: { cluster: string; member: string; kind: ServerKind }): Promise<string> {
      const name = containerName(i.cluster, i.member);
      const ip = await containerIp(docker, i.cluster, name);
      if (!ip) throw new Error(`${i.member} is not running`);
      const c = await presentedCertificate(ip, i.kind === 'postgres' ? PG_PORT : PGBOUNCER_PORT, name, readCaCert(paths, i.cluster));
      return c.serial;
    },
  };
}
