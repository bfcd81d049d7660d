/**
 * A cluster's backup repository used without any of its members: after `cluster delete` keeps
 * the repository (the default), `backup list`, `cluster list --deleted` and `restore` still
 * need `pgbackrest info`, and `backup purge` of an S3 repository needs `stanza-delete`. A
 * one-shot container of the postgres image mounts the repository read-only with no network (a
 * volume) or reaches its bucket (S3), and is removed when it has answered.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { IMAGES } from '../common/images';
import { repositoryVolumeName } from '../common/resource-names';
import { parseBackupInfo, type StanzaSummary } from '../common/backup';
import { SOURCE_CONFIG_PATH } from '../common/render/pgbackrest';
import { readRepositoryLocation } from './backup-settings';
import { LABEL_READS_REPOSITORY } from '../common/labels';
import { demux, volumeExists, withRunLabel } from './docker';
import { putSourceConfig, sourceRepositoryHostConfig } from './repository-access';
import { runAsRoot, stanzaServerOf } from './repository-host/host';
import { withRepository } from './backup-info';

export { withRepository };


/** The cluster's repository exists: its volume, or its S3 settings (the bucket itself is not asked). */
export async function repositoryExists(docker: Docker, paths: Paths, cluster: string): Promise<boolean> {
  const type = readRepositoryLocation(paths, cluster).type;
  if (type === 's3') return true;
  if (type === 'host') return stanzaServerOf(paths, cluster) !== undefined;
  return volumeExists(docker, repositoryVolumeName(cluster));
}

/** `pgbackrest info` of the cluster's repository, read by a one-shot container (about 0.3 s). */
export async function readRepositoryInfo(docker: Docker, paths: Paths, cluster: string): Promise<StanzaSummary> {
  if (readRepositoryLocation(paths, cluster).type === 'host') {
    // Root reads it on the repository host (where a running backup's lock is, too).
    const r = await runAsRoot(docker, paths, cluster, ['--log-level-console=error', 'info', '--output=json'], { pgHosts: [] });
    if (r.exitCode !== 0) throw new Error(`pgbackrest info of ${cluster}'s stanza on the repository host failed (exit ${r.exitCode}): ${r.output.trim().split('\n').pop() ?? ''}`);
    return withRepository(paths, parseBackupInfo(r.output, cluster));
  }
  const out = await pgbackrestOnRepository(docker, paths, cluster, [...stanzaOptions(cluster), 'info', '--output=json'], 'info');
  return withRepository(paths, parseBackupInfo(out, cluster));
}

/**
 * Remove the stanza (its backups and WAL) from the cluster's S3 bucket: pgBackRest's
 * stanza-delete, which wants `stop` first. No PostgreSQL runs beside it (`--force` says so to
 * pgBackRest, which would otherwise look for one). A stanza already gone is success.
 */
export async function deleteS3Stanza(docker: Docker, paths: Paths, cluster: string): Promise<void> {
  // One container for both: `stop` leaves its stop file in the lock path, which stanza-delete looks for.
  await pgbackrestOnRepository(docker, paths, cluster, [...stanzaOptions(cluster), 'stop'], 'stanza-delete', [...stanzaOptions(cluster), '--pg1-path=/nonexistent', '--force', 'stanza-delete']);
}

/** For the commands on a stanza: no log file, and the lock in the one-shot container's /tmp (repo-ls takes neither). */
const stanzaOptions = (cluster: string): string[] => [`--stanza=${cluster}`, '--log-level-file=off', '--lock-path=/tmp'];

/** One pgbackrest command (and `then` another) on the cluster's repository in a one-shot container; its output, or an error with its last line. */
export async function pgbackrestOnRepository(docker: Docker, paths: Paths, cluster: string, args: string[], what: string, then?: string[]): Promise<string> {
  const command = (a: string[]): string[] => ['pgbackrest', `--config=${SOURCE_CONFIG_PATH}`, '--log-level-console=error', ...a];
  // The arguments are option names and checked cluster names: nothing to quote.
  const run = then === undefined ? command(args) : ['sh', '-ec', `${command(args).join(' ')}\n${command(then).join(' ')}`];
  const ct = await docker.createContainer({
    // Random suffix: two readers of one repository at once (two `backup list`) must not collide.
    name: `dbaas-read-repository-${cluster}-${randomBytes(4).toString('hex')}`,
    // pgBackRest 2.55 reads what 2.45 wrote, and a stanza holding PostgreSQL 17 too (2.45 knows majors up to 15).
    Image: IMAGES.postgres17,
    User: 'postgres',
    Entrypoint: run.slice(0, 1),
    Cmd: run.slice(1),
    Labels: withRunLabel({ [LABEL_READS_REPOSITORY]: cluster }),
    HostConfig: sourceRepositoryHostConfig(paths, cluster),
  });
  try {
    await putSourceConfig(docker, ct, paths, cluster);
    await ct.start();
    const { StatusCode } = (await ct.wait()) as { StatusCode: number };
    const out = demux((await ct.logs({ stdout: true, stderr: true })) as unknown as Buffer).trim();
    if (StatusCode !== 0) throw new Error(`pgbackrest ${what} of ${cluster}'s repository failed (exit ${StatusCode}): ${out.split('\n').pop() ?? ''}`);
    return out;
  } finally {
    await ct.remove({ force: true }).catch(() => undefined);
  }
}
