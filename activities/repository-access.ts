/**
 * How a container reaches a cluster's pgBackRest repository, for the one kind of repository the
 * cluster has: a member (its config, a volume mount or the way to its bucket) and a one-shot
 * container that reads another cluster's repository (the restore helper, the reader of a deleted
 * cluster's backups, the purge of an S3 stanza). Where containers meet the repository, the kinds
 * are told apart here only (the create's bucket check and `repositoryExists` ask the location too).
 */
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { LABEL_REPOSITORY, POSTGRES_UID, repositoryVolumeName } from '../common/names';
import { SOURCE_REPO_PATH } from '../common/restore';
import type { RepositoryLocation } from '../common/repository';
import {
  PGBACKREST_CONFIG_PATH, REPO_PATH, S3_CA_PATH, SOURCE_CONFIG_PATH, SOURCE_S3_CA_PATH,
  renderPgbackrestConfig, renderSourceConfig, type RepositoryConfig,
} from '../common/render/pgbackrest';
import { readBackupPassphrase } from './backup-passphrase';
import { readRepositoryLocation, readRetention } from './backup-settings';
import { readS3Credentials } from './s3-credentials';
import { tarOf, type FileToPut } from './docker';

/**
 * An S3 endpoint on the Docker host itself (a MinIO or SeaweedFS beside the engine) is reached
 * from any cluster network by this name; endpoints elsewhere resolve through Docker's DNS.
 */
export const DOCKER_HOST_ALIAS = 'host.docker.internal';
const EXTRA_HOSTS = [`${DOCKER_HOST_ALIAS}:host-gateway`];

const postgresFile = (file: string, content: string, mode: number): FileToPut =>
  ({ dir: path.posix.dirname(file), name: path.posix.basename(file), content, mode, uid: POSTGRES_UID, gid: POSTGRES_UID });

function repositoryConfig(paths: Paths, cluster: string, location: RepositoryLocation, volumePath: string, caFile: string): RepositoryConfig {
  if (location.type === 'volume') return { type: 'volume', path: volumePath };
  const c = readS3Credentials(paths, cluster);
  return { type: 's3', location, accessKey: c.accessKey, secretKey: c.secretKey, ...(c.caPem ? { caFile } : {}) };
}

function caFiles(paths: Paths, cluster: string, location: RepositoryLocation, caFile: string): FileToPut[] {
  if (location.type !== 's3') return [];
  const { caPem } = readS3Credentials(paths, cluster);
  return caPem ? [postgresFile(caFile, caPem, 0o644)] : [];
}

export interface MemberRepositoryAccess {
  binds: string[];
  extraHosts: string[];
  labels: Record<string, string>;
  /** pgbackrest.conf (0600: passphrase, S3 keys) and the S3 endpoint's private CA, if any. */
  files: FileToPut[];
}

/** What a member of `cluster` needs to archive into and back up to its repository (and, with tlsServer, to serve a backup as a standby). */
export function memberRepositoryAccess(paths: Paths, cluster: string, o: { tlsServer: boolean }): MemberRepositoryAccess {
  const location = readRepositoryLocation(paths, cluster);
  const content = renderPgbackrestConfig({
    stanza: cluster,
    tlsServer: o.tlsServer,
    repository: repositoryConfig(paths, cluster, location, REPO_PATH, S3_CA_PATH),
    retention: readRetention(paths, cluster),
    cipherPass: readBackupPassphrase(paths, cluster),
  });
  const files = [postgresFile(PGBACKREST_CONFIG_PATH, content, 0o600), ...caFiles(paths, cluster, location, S3_CA_PATH)];
  if (location.type === 's3') return { binds: [], extraHosts: EXTRA_HOSTS, labels: { [LABEL_REPOSITORY]: 's3' }, files };
  return { binds: [`${repositoryVolumeName(cluster)}:${REPO_PATH}`], extraHosts: [], labels: {}, files };
}

/**
 * The HostConfig part of a one-shot container that uses `source`'s repository: a volume mounted
 * read-only with no network at all, or the network (to reach the bucket) and no mount.
 */
export function sourceRepositoryHostConfig(paths: Paths, source: string): Pick<Docker.HostConfig, 'Binds' | 'NetworkMode' | 'ExtraHosts'> {
  if (readRepositoryLocation(paths, source).type === 's3') return { Binds: [], NetworkMode: 'bridge', ExtraHosts: EXTRA_HOSTS };
  return { Binds: [`${repositoryVolumeName(source)}:${SOURCE_REPO_PATH}:ro`], NetworkMode: 'none' };
}

/**
 * Into a created, not yet started one-shot container: the config pgBackRest uses `source`'s
 * repository with (`--config=SOURCE_CONFIG_PATH`), with the passphrase and S3 keys it needs, and
 * the endpoint's private CA. Mode 0600, owned by postgres; never on a command line.
 */
export async function putSourceConfig(ct: Docker.Container, paths: Paths, source: string): Promise<void> {
  const location = readRepositoryLocation(paths, source);
  const content = renderSourceConfig(repositoryConfig(paths, source, location, SOURCE_REPO_PATH, SOURCE_S3_CA_PATH), readBackupPassphrase(paths, source));
  for (const f of [postgresFile(SOURCE_CONFIG_PATH, content, 0o600), ...caFiles(paths, source, location, SOURCE_S3_CA_PATH)]) {
    await ct.putArchive(await tarOf(f), { path: f.dir });
  }
}
