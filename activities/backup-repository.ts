/**
 * A cluster's backup repository read without any of its members: after `cluster delete` keeps
 * the repository (the default), `backup list`, `cluster list --deleted` and `restore` still
 * need `pgbackrest info`. A one-shot container of the postgres image mounts the repository
 * read-only, with no network, and is removed when it has answered.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { IMAGES, repositoryVolumeName } from '../common/names';
import { parseBackupInfo, type StanzaSummary } from '../common/backup';
import { SOURCE_CONFIG_PATH, renderSourceConfig } from '../common/render/pgbackrest';
import { SOURCE_REPO_PATH } from '../common/restore';
import { readBackupPassphrase } from './backup-passphrase';
import { demux, isNotFound, tarOf, withRunLabel } from './docker';
import { POSTGRES_UID } from './patroni';

/**
 * Not labelled dbaas.cluster: a reader must never make a deleted cluster look live. The label
 * names the cluster it read, for `docker ps` and clean-up.
 */
export const LABEL_READS_REPOSITORY = 'dbaas.reads-repository';

export async function repositoryExists(docker: Docker, cluster: string): Promise<boolean> {
  try {
    await docker.getVolume(repositoryVolumeName(cluster)).inspect();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Into a created, not yet started container that mounts `source`'s repository at
 * SOURCE_REPO_PATH: the config pgBackRest reads it with (`--config=SOURCE_CONFIG_PATH`), with
 * the passphrase when it is encrypted. Mode 0600, owned by postgres; never on a command line.
 */
export async function putSourceConfig(ct: Docker.Container, paths: Paths, source: string): Promise<void> {
  const dir = path.posix.dirname(SOURCE_CONFIG_PATH);
  const content = renderSourceConfig(readBackupPassphrase(paths, source));
  await ct.putArchive(await tarOf({ dir, name: path.posix.basename(SOURCE_CONFIG_PATH), content, mode: 0o600, uid: POSTGRES_UID, gid: POSTGRES_UID }), { path: dir });
}

/** `pgbackrest info` of the cluster's repository, read by a one-shot container (about 0.3 s). */
export async function readRepositoryInfo(docker: Docker, paths: Paths, cluster: string): Promise<StanzaSummary> {
  const ct = await docker.createContainer({
    // Random suffix: two readers of one repository at once (two `backup list`) must not collide.
    name: `dbaas-read-repository-${cluster}-${randomBytes(4).toString('hex')}`,
    Image: IMAGES.postgres,
    User: 'postgres',
    Entrypoint: ['pgbackrest'],
    Cmd: [`--stanza=${cluster}`, `--config=${SOURCE_CONFIG_PATH}`, '--log-level-file=off', '--log-level-console=error', '--lock-path=/tmp', 'info', '--output=json'],
    Labels: withRunLabel({ [LABEL_READS_REPOSITORY]: cluster }),
    HostConfig: { NetworkMode: 'none', Binds: [`${repositoryVolumeName(cluster)}:${SOURCE_REPO_PATH}:ro`] },
  });
  try {
    await putSourceConfig(ct, paths, cluster);
    await ct.start();
    const { StatusCode } = (await ct.wait()) as { StatusCode: number };
    const out = demux((await ct.logs({ stdout: true, stderr: true })) as unknown as Buffer).trim();
    if (StatusCode !== 0) throw new Error(`pgbackrest info of ${cluster}'s repository failed (exit ${StatusCode}): ${out.split('\n').pop() ?? ''}`);
    return parseBackupInfo(out, cluster);
  } finally {
    await ct.remove({ force: true }).catch(() => undefined);
  }
}
