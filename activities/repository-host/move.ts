/**
 * Moving a cluster's repository from its volume onto the repository host, with its backups and
 * WAL (`backup migrate NAME`, run by the EnableBackups workflow): the files are copied before the
 * members are re-created for the host, the WAL the old leader archived meanwhile after, and the
 * volume goes only once the host lists every backup it had.
 */
import type { Inventory } from '../hosts/inventory';
import type { Paths } from '../../common/paths';
import { IMAGES } from '../../common/images';
import { versionOf } from '../../common/postgres-version';
import { LABEL_ROLE } from '../../common/labels';
import { repositoryVolumeName } from '../../common/resource-names';
import { readRepositoryLocation } from '../backup-settings';
import { demux, volumeExists, withRunLabel } from '../docker';
import { ErrorTypes, finalError } from '../errors';
import { ensureStanzaOnHost, hostVolumeName, repositoryHostName } from './host';
import { readRepositoryInfo } from '../backup-repository';
import { HOST_REPO_PATH } from './render';

/** Where the cluster's repository is, whether its volume still exists, and which members are not yet made for the host. */
export interface RepositoryLayout {
  kind: 'volume' | 's3' | 'host';
  volume: boolean;
  membersOffHost: string[];
}

/** A backup label as pgBackRest names its directory (full, or diff/incr after its full). */
const LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;

/**
 * The copy, as root in a one-shot container with both volumes and no network: files the host
 * lacks (a re-run copies only what is new), then everything of the stanza root's, in the
 * server's group, with the host's modes (archived WAL sealed). Prints the backup labels it saw.
 */
function copyScript(stanza: string, uid: number): string {
  return [
    'set -eu',
    ...['backup', 'archive'].map((d) => `[ ! -d /from/${d}/${stanza} ] || cp -a -n /from/${d}/${stanza}/. /to/${d}/${stanza}/`),
    // A file pgBackRest was still writing (it renames it when done) is not WAL yet.
    `find /to/archive/${stanza} -name '*.pgbackrest.tmp' -delete`,
    `chown -R 0:${uid} /to/backup/${stanza} /to/archive/${stanza}`,
    `find /to/backup/${stanza} -type d -exec chmod 2750 {} + && find /to/backup/${stanza} -type f -exec chmod 0640 {} +`,
    `find /to/archive/${stanza} -type d -exec chmod 3770 {} + && find /to/archive/${stanza} -type f -exec chmod 0640 {} +`,
    `ls -1 /from/backup/${stanza} 2>/dev/null || true`,
  ].join('\n');
}

export function createRepositoryMoveActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    async repositoryLayout(cluster: string): Promise<RepositoryLayout> {
      const pg = await inv.members(cluster, { kind: 'postgres' });
      return {
        kind: readRepositoryLocation(paths, cluster).type,
        volume: await volumeExists(docker, repositoryVolumeName(cluster)),
        membersOffHost: pg.filter((m) => m.repository !== 'host').map((m) => m.name),
      };
    },

    /**
     * Copy the cluster's volume repository into its stanza on the repository host (made now if
     * needed, with the volume's passphrase, or none for a repository from before encryption).
     * Idempotent: what the host has stays. Returns the backup labels the volume holds.
     */
    async copyVolumeRepositoryToHost(cluster: string): Promise<{ labels: string[] }> {
      if (!(await volumeExists(docker, repositoryVolumeName(cluster)))) throw finalError(ErrorTypes.ClusterNotFound, `cluster ${cluster} has no repository volume to move`);
      // The stanza's server runs the pgBackRest of the members' major.
      const member = (await inv.members(cluster, { kind: 'postgres' })).find((m) => m.createdWith);
      const server = await ensureStanzaOnHost(docker, paths, cluster, versionOf(member?.createdWith ?? {}));
      const name = `dbaas-${cluster}-move-repository`;
      await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
      const ct = await docker.createContainer({
        name,
        Image: IMAGES.backup,
        User: 'root',
        Entrypoint: ['sh', '-c'],
        Cmd: [copyScript(cluster, server.uid)],
        Labels: withRunLabel({ [LABEL_ROLE]: 'repository-move' }),
        HostConfig: {
          NetworkMode: 'none',
          Binds: [`${repositoryVolumeName(cluster)}:/from:ro`, `${hostVolumeName(paths)}:/to`],
        },
      });
      try {
        await ct.start();
        const { StatusCode } = (await ct.wait()) as { StatusCode: number };
        const out = demux((await ct.logs({ stdout: true, stderr: true })) as unknown as Buffer).trim();
        if (StatusCode !== 0) throw new Error(`copying ${cluster}'s repository to ${repositoryHostName(paths)}:${HOST_REPO_PATH} failed (exit ${StatusCode}): ${out.split('\n').pop() ?? ''}`);
        return { labels: out.split('\n').filter((l) => LABEL.test(l)).sort() };
      } finally {
        await ct.remove({ force: true }).catch(() => undefined);
      }
    },

    /**
     * The volume goes once the host lists every backup it held (and no container mounts it):
     * the move is done. A volume already gone is success.
     */
    async removeMovedRepositoryVolume(i: { cluster: string; labels: string[] }): Promise<{ removed: boolean }> {
      const volume = repositoryVolumeName(i.cluster);
      if (!(await volumeExists(docker, volume))) return { removed: false };
      const listed = new Set((await readRepositoryInfo(docker, paths, i.cluster)).backups.map((b) => b.label));
      const missing = i.labels.filter((l) => !listed.has(l));
      if (missing.length > 0) throw finalError(ErrorTypes.RepositoryRefused, `the repository host does not list backups ${missing.join(', ')} of ${volume}: the volume stays`);
      await docker.getVolume(volume).remove();
      return { removed: true };
    },
  };
}
