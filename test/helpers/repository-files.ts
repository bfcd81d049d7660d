/**
 * A cluster's backup repository as someone who can read its Docker volume sees it (the cluster's
 * own, or the repository host's): the first bytes of every file of its stanza, read by a one-shot
 * container that mounts the volume read-only.
 */
import type Docker from 'dockerode';
import type { Paths } from '../../common/paths';
import { IMAGES } from '../../common/images';
import { repositoryVolumeName } from '../../common/resource-names';
import { demux } from '../../activities/docker';
import { readRepositoryLocation } from '../../activities/backup-settings';
import { hostVolumeName } from '../../activities/repository-host/host';

export interface RepositoryFile {
  /** Path inside the repository, e.g. backup/orders/20261123-113627F/pg_data/PG_VERSION.lz4. */
  path: string;
  /** Its first 8 bytes. */
  head: Buffer;
}

const MOUNT = '/repository';

export async function repositoryFileHeads(docker: Docker, paths: Paths, cluster: string): Promise<RepositoryFile[]> {
  const volume = readRepositoryLocation(paths, cluster).type === 'host' ? hostVolumeName(paths) : repositoryVolumeName(cluster);
  const ct = await docker.createContainer({
    Image: IMAGES.postgres,
    // Root: the repository host's files belong to root and the stanza's own user.
    User: 'root',
    Entrypoint: ['sh', '-c'],
    // Repository paths hold no spaces (stanza names, labels, WAL and relation file names).
    Cmd: [`cd ${MOUNT} && find ./backup/${cluster} ./archive/${cluster} -type f | while read -r f; do printf '%s ' "$f"; head -c 8 "$f" | base64 -w0; echo; done`],
    HostConfig: { NetworkMode: 'none', Binds: [`${volume}:${MOUNT}:ro`] },
  });
  try {
    await ct.start();
    const { StatusCode } = (await ct.wait()) as { StatusCode: number };
    const out = demux((await ct.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    if (StatusCode !== 0) throw new Error(`reading ${cluster}'s repository failed (exit ${StatusCode}): ${out}`);
    return out.trim().split('\n').filter(Boolean).map((line) => {
      const [p, b64 = ''] = line.split(' ');
      return { path: p.replace(/^\.\//, ''), head: Buffer.from(b64, 'base64') };
    });
  } finally {
    await ct.remove({ force: true }).catch(() => undefined);
  }
}

/** pgBackRest's encrypted files are OpenSSL's salted format: they start with "Salted__". */
export const isEncrypted = (f: RepositoryFile): boolean => f.head.toString('latin1') === 'Salted__';
