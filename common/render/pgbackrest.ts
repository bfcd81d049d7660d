/**
 * pgbackrest.conf for a cluster's Postgres containers, rendered from the typed spec. Pure.
 *
 * Layout (pgBackRest 2.45): one repository per cluster on its own Docker volume, mounted at
 * REPO_PATH in every Postgres container of the cluster. WAL is pushed by whichever member is
 * the leader (archive_command runs only on a primary), and a backup runs inside the current
 * leader's container, where pgBackRest sees the primary locally — no SSH or TLS server needed.
 */
import { SOCKET_DIR, DATA_DIR } from './patroni';
import { SOURCE_REPO_PATH } from '../restore';

export const REPO_PATH = '/var/lib/pgbackrest';
export const PGBACKREST_CONFIG_DIR = '/etc/pgbackrest';
export const PGBACKREST_CONFIG_PATH = `${PGBACKREST_CONFIG_DIR}/pgbackrest.conf`;
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

export interface PgbackrestRenderInput {
  /** The stanza: the cluster name. */
  stanza: string;
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

export function renderPgbackrestConfig(i: PgbackrestRenderInput): string {
  const lines = [
    '# Rendered by dbaas. Do not edit: dbaas rewrites it.',
    '[global]',
    `repo1-path=${REPO_PATH}`,
    ...cipherLines(i.cipherPass),
    `repo1-retention-full=${i.retention.full}`,
    ...(i.retention.diff !== undefined ? [`repo1-retention-diff=${i.retention.diff}`] : []),
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

/** The config of a repository mounted read-only at SOURCE_REPO_PATH: its path and, if it is encrypted, its cipher. */
export function renderSourceConfig(cipherPass: string | undefined): string {
  return ['# Rendered by dbaas for one read of a repository.', '[global]', `repo1-path=${SOURCE_REPO_PATH}`, ...cipherLines(cipherPass), ''].join('\n');
}

/** archive_command for the stanza; runs on whichever member is primary. */
export function archiveCommand(stanza: string): string {
  return `pgbackrest --stanza=${stanza} archive-push %p`;
}

/** restore_command for the stanza: replicas (and recovering members) fetch WAL they lack from the repository. */
export function restoreCommand(stanza: string): string {
  return `pgbackrest --stanza=${stanza} archive-get %f %p`;
}
