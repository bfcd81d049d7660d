/**
 * How a container reaches a cluster's pgBackRest repository, for the one kind of repository the
 * cluster has: a member (its config, a volume mount or the way to its bucket) and a one-shot
 * container that reads another cluster's repository (the restore helper, the reader of a deleted
 * cluster's backups, the purge of an S3 stanza). Where containers meet the repository, the kinds
 * are told apart here only (the create's bucket check, `repositoryExists`, and where pgbackrest
 * commands run, in pgbackrest.ts, ask the location too).
 *
 * On the repository host (repository-host/), members and helpers mount nothing and hold no
 * passphrase: they reach the stanza's own server over TLS with a client certificate for it.
 */
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { LABEL_REPOSITORY } from '../common/labels';
import { POSTGRES_UID } from '../common/service-users';
import { repositoryVolumeName } from '../common/resource-names';
import { SOURCE_REPO_PATH } from '../common/restore';
import type { RepositoryLocation } from '../common/repository';
import {
  PGBACKREST_CONFIG_DIR, PGBACKREST_CONFIG_PATH, REPO_PATH, S3_CA_PATH, SOURCE_CONFIG_PATH, SOURCE_S3_CA_PATH,
  renderPgbackrestConfig, renderSourceConfig, type RepositoryConfig,
} from '../common/render/pgbackrest';
import { readBackupPassphrase } from './backup-passphrase';
import { readRepositoryLocation, readRetention } from './backup-settings';
import { readS3Credentials } from './s3-credentials';
import { putFiles, type FileToPut } from './docker';
import { IMAGES, postgresImage } from '../common/images';
import type { PostgresVersion } from '../common/postgres-version';
import { repositoryClientFiles, repositoryHostNetwork, stanzaServerOf, ensureRepositoryHost } from './repository-host/host';
import { clientTlsAt, type TlsPaths } from './repository-host/render';

/** A member's client certificate for its stanza's server on the repository host, its key and the host's CA. */
const MEMBER_REPOSITORY_TLS = clientTlsAt(`${PGBACKREST_CONFIG_DIR}/repository-`);
/** The same, in a one-shot container that reads another cluster's stanza there. */
const SOURCE_REPOSITORY_TLS = clientTlsAt('/tmp/dbaas-source-repository-');

/**
 * An S3 endpoint on the Docker host itself (a MinIO or SeaweedFS beside the engine) is reached
 * from any cluster network by this name; endpoints elsewhere resolve through Docker's DNS.
 */
export const DOCKER_HOST_ALIAS = 'host.docker.internal';
const EXTRA_HOSTS = [`${DOCKER_HOST_ALIAS}:host-gateway`];

const postgresFile = (file: string, content: string, mode: number): FileToPut =>
  ({ dir: path.posix.dirname(file), name: path.posix.basename(file), content, mode, uid: POSTGRES_UID, gid: POSTGRES_UID });

function repositoryConfig(paths: Paths, cluster: string, location: RepositoryLocation, volumePath: string, caFile: string, clientTls: TlsPaths): RepositoryConfig {
  if (location.type === 'volume') return { type: 'volume', path: volumePath };
  if (location.type === 'host') {
    const server = stanzaServerOf(paths, cluster);
    if (!server) throw new Error(`the repository host has no stanza ${cluster} yet`);
    return { type: 'host', host: location.host, port: server.port, tls: clientTls };
  }
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
export async function memberRepositoryAccess(paths: Paths, cluster: string, o: { tlsServer: boolean }): Promise<MemberRepositoryAccess> {
  const location = readRepositoryLocation(paths, cluster);
  const content = renderPgbackrestConfig({
    stanza: cluster,
    tlsServer: o.tlsServer,
    repository: repositoryConfig(paths, cluster, location, REPO_PATH, S3_CA_PATH, MEMBER_REPOSITORY_TLS),
    retention: readRetention(paths, cluster),
    cipherPass: location.type === 'host' ? undefined : readBackupPassphrase(paths, cluster),
  });
  const files = [postgresFile(PGBACKREST_CONFIG_PATH, content, 0o600), ...caFiles(paths, cluster, location, S3_CA_PATH)];
  if (location.type === 'host') {
    const client = await repositoryClientFiles(paths, cluster, MEMBER_REPOSITORY_TLS, POSTGRES_UID);
    return { binds: [], extraHosts: [], labels: { [LABEL_REPOSITORY]: 'host' }, files: [...files, ...client] };
  }
  if (location.type === 's3') return { binds: [], extraHosts: EXTRA_HOSTS, labels: { [LABEL_REPOSITORY]: 's3' }, files };
  return { binds: [`${repositoryVolumeName(cluster)}:${REPO_PATH}`], extraHosts: [], labels: {}, files };
}

/** A member's client certificate for its stanza's server on the repository host (none for another repository). */
export async function memberRepositoryClientFiles(paths: Paths, cluster: string): Promise<FileToPut[]> {
  if (readRepositoryLocation(paths, cluster).type !== 'host') return [];
  return repositoryClientFiles(paths, cluster, MEMBER_REPOSITORY_TLS, POSTGRES_UID);
}

/**
 * The image of a one-shot container that restores `source`'s backup of a major: that major's.
 * On the repository host, after an upgrade, the stanza's server runs the newer major's
 * pgBackRest, and pgBackRest speaks only to its own version: a backup of the older major is
 * restored by the upgrade helper's image (the newer pgBackRest, the older PostgreSQL binaries).
 */
export function restoreHelperImage(paths: Paths, source: string, version: PostgresVersion): string {
  const server = readRepositoryLocation(paths, source).type === 'host' ? stanzaServerOf(paths, source) : undefined;
  return server && server.version !== version ? IMAGES.postgresUpgrade : postgresImage(version);
}

/**
 * The HostConfig part of a one-shot container that uses `source`'s repository: a volume mounted
 * read-only with no network at all, or the network (to reach the bucket) and no mount.
 */
export function sourceRepositoryHostConfig(paths: Paths, source: string): Pick<Docker.HostConfig, 'Binds' | 'NetworkMode' | 'ExtraHosts'> {
  const type = readRepositoryLocation(paths, source).type;
  if (type === 's3') return { Binds: [], NetworkMode: 'bridge', ExtraHosts: EXTRA_HOSTS };
  // The repository host's own network: it meets no cluster's members there.
  if (type === 'host') return { Binds: [], NetworkMode: repositoryHostNetwork(paths) };
  return { Binds: [`${repositoryVolumeName(source)}:${SOURCE_REPO_PATH}:ro`], NetworkMode: 'none' };
}

/**
 * Into a created, not yet started one-shot container: the config pgBackRest uses `source`'s
 * repository with (`--config=SOURCE_CONFIG_PATH`), with the passphrase and S3 keys it needs, and
 * the endpoint's private CA. Mode 0600, owned by postgres; never on a command line.
 */
export async function putSourceConfig(docker: Docker, ct: Docker.Container, paths: Paths, source: string): Promise<void> {
  const location = readRepositoryLocation(paths, source);
  const onHost = location.type === 'host';
  // The stanza's server must answer the helper (a host made anew since starts it).
  if (onHost) await ensureRepositoryHost(docker, paths);
  const repository = repositoryConfig(paths, source, location, SOURCE_REPO_PATH, SOURCE_S3_CA_PATH, SOURCE_REPOSITORY_TLS);
  const content = renderSourceConfig(repository, onHost ? undefined : readBackupPassphrase(paths, source));
  const client = onHost ? await repositoryClientFiles(paths, source, SOURCE_REPOSITORY_TLS, POSTGRES_UID) : [];
  await putFiles(ct, [postgresFile(SOURCE_CONFIG_PATH, content, 0o600), ...caFiles(paths, source, location, SOURCE_S3_CA_PATH), ...client]);
}
