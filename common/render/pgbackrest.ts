/**
 * pgbackrest.conf for a cluster's Postgres containers, rendered from the typed spec. Pure.
 *
 * Layout (pgBackRest 2.45): one repository per cluster, either on its own Docker volume, mounted
 * at REPO_PATH in every Postgres container of the cluster, or in an S3 bucket every member
 * reaches over HTTPS. WAL is pushed by whichever member is the leader (archive_command runs only
 * on a primary), and a backup runs inside the current leader's container, where pgBackRest sees
 * the primary locally — no SSH or TLS server needed.
 */
import { SOCKET_DIR, DATA_DIR } from './image-paths';
import type { S3Location } from '../repository';

export const REPO_PATH = '/var/lib/pgbackrest';
export const PGBACKREST_CONFIG_DIR = '/etc/pgbackrest';
export const PGBACKREST_CONFIG_PATH = `${PGBACKREST_CONFIG_DIR}/pgbackrest.conf`;
/** The private CA of an S3 endpoint, in the members (not secret; beside the config). */
export const S3_CA_PATH = `${PGBACKREST_CONFIG_DIR}/s3-ca.crt`;
/** Log and lock files stay in the container (a lock in the shared repository would be wrong: each node locks for itself). */
export const PGBACKREST_LOG_PATH = '/var/log/pgbackrest';
export const PGBACKREST_LOCK_PATH = '/tmp/pgbackrest';

export interface Retention {
  /** Full backups to keep (older ones and the WAL only they need are expired). */
  full: number;
  /** Differential backups to keep; unset = keep all that their full backup keeps. */
  diff?: number;
}

export const DEFAULT_RETENTION: Retention = { full: 2 };

/** The repository as a config names it: a mounted path, or a bucket with its credentials. */
export type RepositoryConfig =
  | { type: 'volume'; path: string }
  | { type: 's3'; location: S3Location; accessKey: string; secretKey: string; /** Where the private CA file is, if any. */ caFile?: string }
  /** The repository host's server for the stanza, over TLS: the client certificate its CN authorizes, and the CA of its server's. */
  | { type: 'host'; host: string; port: number; tls: { cert: string; key: string; ca: string } };

export interface PgbackrestRenderInput {
  /** The stanza: the cluster name. */
  stanza: string;
  repository: RepositoryConfig;
  /** Serve the cluster's other members over TLS (`pgbackrest server`): a backup on the leader reads a standby's files. */
  tlsServer?: boolean;
  retention: Retention;
  /** Parallel processes for backup and restore (the machines have 2 cores). */
  processMax?: number;
  /** The repository's passphrase; unset for a repository made before dbaas encrypted them. */
  cipherPass?: string;
}

/** pgBackRest's only repository cipher: every file it writes to the repository is encrypted. */
export const REPOSITORY_CIPHER = 'aes-256-cbc';

/**
 * repo1-cipher-pass is a secure option: pgBackRest refuses it on the command line, and an
 * environment variable would show in `docker inspect`. It goes in a config file (mode 0600).
 */
function cipherLines(cipherPass: string | undefined): string[] {
  return cipherPass === undefined ? [] : [`repo1-cipher-type=${REPOSITORY_CIPHER}`, `repo1-cipher-pass=${cipherPass}`];
}

/**
 * repo1-s3-key and repo1-s3-key-secret are secure options too: in this config file (0600) only.
 * Path-style URIs unless asked otherwise: self-hosted servers (MinIO, SeaweedFS) rarely resolve
 * bucket.host names.
 */
function repositoryLines(r: RepositoryConfig): string[] {
  if (r.type === 'volume') return [`repo1-path=${r.path}`];
  if (r.type === 'host') {
    return [
      `repo1-host=${r.host}`,
      'repo1-host-type=tls',
      `repo1-host-port=${r.port}`,
      `repo1-host-cert-file=${r.tls.cert}`,
      `repo1-host-key-file=${r.tls.key}`,
      `repo1-host-ca-file=${r.tls.ca}`,
    ];
  }
  const l = r.location;
  return [
    'repo1-type=s3',
    `repo1-path=${l.path}`,
    `repo1-s3-bucket=${l.bucket}`,
    `repo1-s3-endpoint=${l.endpoint}`,
    `repo1-storage-port=${l.port}`,
    `repo1-s3-region=${l.region}`,
    `repo1-s3-uri-style=${l.uriStyle}`,
    `repo1-s3-key=${r.accessKey}`,
    `repo1-s3-key-secret=${r.secretKey}`,
    ...(r.caFile ? [`repo1-storage-ca-file=${r.caFile}`] : []),
  ];
}

/** The port a member's `pgbackrest server` listens on (pgBackRest's default). */
export const BACKUP_SERVER_PORT = 8432;
/** A member's pgBackRest certificate (server and client purposes), its key (0600) and the cluster's CA. */
export const BACKUP_SERVER_TLS = { cert: `${PGBACKREST_CONFIG_DIR}/tls.crt`, key: `${PGBACKREST_CONFIG_DIR}/tls.key`, ca: `${PGBACKREST_CONFIG_DIR}/tls-ca.crt` };

/**
 * The CN every member's pgBackRest certificate carries, and the one client each member's server
 * authorizes for the stanza: pgBackRest takes no wildcard for a client CN, and a list of member
 * names would go stale as members come and go. Each member still has its own key, and its
 * certificate's DNS name is its container's (what a client checks).
 */
export const backupPeerName = (cluster: string): string => `dbaas-${cluster}-backup-peer`;

/** A TLS server on every address (the default is localhost), with its certificate, checking client certificates against the CA. */
export function tlsServerListenLines(): string[] {
  return [
    'tls-server-address=*',
    `tls-server-port=${BACKUP_SERVER_PORT}`,
    `tls-server-cert-file=${BACKUP_SERVER_TLS.cert}`,
    `tls-server-key-file=${BACKUP_SERVER_TLS.key}`,
    `tls-server-ca-file=${BACKUP_SERVER_TLS.ca}`,
  ];
}

function tlsServerLines(stanza: string): string[] {
  return [...tlsServerListenLines(), `tls-server-auth=${backupPeerName(stanza)}=${stanza}`];
}

/**
 * The options that make a backup on the leader (pg1, local) read the data files from `standby`
 * (pg2, over TLS): only the start and stop calls and a few small files go to the primary.
 */
export function standbyBackupOptions(standbyHost: string): string[] {
  return [
    `--pg2-host=${standbyHost}`,
    '--pg2-host-type=tls',
    `--pg2-host-port=${BACKUP_SERVER_PORT}`,
    `--pg2-host-cert-file=${BACKUP_SERVER_TLS.cert}`,
    `--pg2-host-key-file=${BACKUP_SERVER_TLS.key}`,
    `--pg2-host-ca-file=${BACKUP_SERVER_TLS.ca}`,
    `--pg2-path=${DATA_DIR}`,
    `--pg2-socket-path=${SOCKET_DIR}`,
    '--backup-standby',
  ];
}

export function renderPgbackrestConfig(i: PgbackrestRenderInput): string {
  const lines = [
    '# Rendered by dbaas. Do not edit: dbaas rewrites it.',
    '[global]',
    ...repositoryLines(i.repository),
    ...(i.tlsServer ? tlsServerLines(i.stanza) : []),
    // On the repository host's side, not here: its server encrypts, root expires.
    ...(i.repository.type === 'host' ? [] : [
      ...cipherLines(i.cipherPass),
      `repo1-retention-full=${i.retention.full}`,
      ...(i.retention.diff !== undefined ? [`repo1-retention-diff=${i.retention.diff}`] : []),
    ]),
    `log-path=${PGBACKREST_LOG_PATH}`,
    `lock-path=${PGBACKREST_LOCK_PATH}`,
    'log-level-console=info',
    'log-level-file=info',
    // A backup starts with an immediate checkpoint instead of waiting for a spread one.
    'start-fast=y',
    `process-max=${i.processMax ?? 2}`,
    'compress-type=lz4',
    '',
    `[${i.stanza}]`,
    `pg1-path=${DATA_DIR}`,
    `pg1-socket-path=${SOCKET_DIR}`,
    'pg1-user=postgres',
    '',
  ];
  return lines.join('\n');
}

/**
 * Where a one-shot container that reads another cluster's repository (the restore helper, the
 * reader of a deleted cluster's backups) finds its config, put in before it starts.
 */
export const SOURCE_CONFIG_PATH = '/tmp/dbaas-source-pgbackrest.conf';

/** Where such a container finds the private CA of the source's S3 endpoint. */
export const SOURCE_S3_CA_PATH = '/tmp/dbaas-source-s3-ca.crt';

/**
 * The config of another cluster's repository: a volume mounted read-only at SOURCE_REPO_PATH (pass
 * `{ type: 'volume', path: SOURCE_REPO_PATH }`) or its bucket; and, if it is encrypted, its cipher.
 */
export function renderSourceConfig(repository: RepositoryConfig, cipherPass: string | undefined): string {
  return ['# Rendered by dbaas for one use of a repository.', '[global]', ...repositoryLines(repository), ...cipherLines(cipherPass), ''].join('\n');
}

/** archive_command for the stanza; runs on whichever member is primary. */
export function archiveCommand(stanza: string): string {
  return `pgbackrest --stanza=${stanza} archive-push %p`;
}

/** restore_command for the stanza: replicas (and recovering members) fetch WAL they lack from the repository. */
export function restoreCommand(stanza: string): string {
  return `pgbackrest --stanza=${stanza} archive-get %f %p`;
}
