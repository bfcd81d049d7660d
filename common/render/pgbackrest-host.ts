/**
 * pgbackrest.conf for pgBackRest's "dedicated repository host" layout over TLS (pgBackRest 2.45,
 * `pgbackrest server`, no SSH), rendered from typed inputs. Pure.
 *
 * - The repository host keeps the repository on its own volume at REPO_PATH, one stanza per
 *   cluster, and runs `pgbackrest server` for the PostgreSQL hosts: their archive-push,
 *   archive-get and restore reach the repository through it. It runs stanza-create, check, backup
 *   and expire itself, reaching each PostgreSQL host's own `pgbackrest server` as pgN-host.
 * - A PostgreSQL host runs `pgbackrest server` beside PostgreSQL, answering the repository host
 *   only, and mounts no repository.
 * - Every host has one certificate (PGBACKREST_TLS), used as its server certificate and as its
 *   client certificate: its CN and only DNS name are the host's name (the container name). The
 *   other side authorizes that CN per stanza (tls-server-auth) and checks that DNS name
 *   (pgBackRest's client checks DNS SANs only, no IP SANs).
 * - Secrets (the repository passphrase) are only in the repository host's config: a PostgreSQL
 *   host gets the passphrase of its stanza from the repository host over TLS when it needs it.
 * - tls-server-auth limits which stanza NAME a client may give, nothing more: pgBackRest 2.45's
 *   server loads the options the client sends (repo1-path included) and serves its whole storage
 *   API, so an authorized client can read and write whatever the server's user can, and
 *   stanza-delete its own stanza (measured in test/integration/repository-host.test.ts).
 */
import type { TlsFileNames, ServerIdentity } from './tls';
import { DATA_DIR, SOCKET_DIR } from './patroni';
import { BACKUP_SERVER_PORT, BACKUP_SERVER_TLS, PGBACKREST_LOCK_PATH, tlsServerListenLines, PGBACKREST_LOG_PATH, REPO_PATH, REPOSITORY_CIPHER, type Retention } from './pgbackrest';

/** pgBackRest's default TLS server port, on every host of the layout (members serve on it too). */
export const PGBACKREST_TLS_PORT = BACKUP_SERVER_PORT;

/** A host's certificate (server and client), its key (0600, owned by the server's user) and the CA it trusts. */
export const PGBACKREST_TLS: TlsFileNames = BACKUP_SERVER_TLS;

/** The main process of the repository host and the companion process of a PostgreSQL host (under tini). */
export const PGBACKREST_SERVER_COMMAND = ['pgbackrest', 'server'];

/** Where the repository host keeps the repository (its own volume is mounted there; no PostgreSQL host mounts it). */
export const REPOSITORY_HOST_REPO_PATH = REPO_PATH;

/** What a host's pgBackRest certificate says: CN and DNS name are the name the other hosts dial and authorize. */
export function pgbackrestIdentity(host: string): ServerIdentity {
  return { commonName: host, dnsNames: [host], ips: [] };
}

export interface RepositoryHostStanza {
  /** The stanza: the cluster name. */
  stanza: string;
  /**
   * The cluster's PostgreSQL hosts (container names), rendered pg1, pg2, … in this order;
   * pgBackRest finds which one is the primary. At most 256.
   */
  pgHosts: string[];
  /**
   * Read the data files from a standby (`backup-standby=y`); only the start and stop calls and a
   * few small files go to the primary. pgBackRest 2.45 then fails a backup when no standby among
   * pgHosts answers, so set it only when one runs.
   */
  backupStandby: boolean;
  /** Further hosts (certificate CNs) authorized for the stanza: a restore target, a one-shot reader. */
  otherClients?: string[];
  retention: Retention;
  /** The stanza's repository passphrase; unset for a stanza moved from an unencrypted repository. */
  cipherPass?: string;
}

export interface RepositoryHostRenderInput {
  stanzas: RepositoryHostStanza[];
  /** Parallel processes for a backup (plus one on the primary when backing up from a standby). */
  processMax?: number;
}

export interface PostgresHostRenderInput {
  /** This PostgreSQL host's stanza (the cluster name). */
  stanza: string;
  /** The repository host's name (container name): dialled for the repository and authorized to reach this host. */
  repositoryHost: string;
  /** Parallel processes for a restore. */
  processMax?: number;
}

/**
 * Names go into `key=value` lines and into tls-server-auth's `CN=stanza,stanza`: a newline would
 * add lines, and '=', ',' or a space would change what is authorized. Container and cluster names
 * never hold them; refuse anything else rather than render it.
 */
const CONFIG_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function token(what: string, value: string): string {
  if (!CONFIG_TOKEN.test(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot go into pgbackrest.conf: letters, digits, '.', '_' and '-' only`);
  return value;
}

/** Lines every host of the layout has: its logs and locks stay in the container. */
function commonLines(processMax: number | undefined): string[] {
  return [
    `log-path=${PGBACKREST_LOG_PATH}`,
    `lock-path=${PGBACKREST_LOCK_PATH}`,
    'log-level-console=info',
    'log-level-file=info',
    'compress-type=lz4',
    `process-max=${processMax ?? 2}`,
  ];
}

/**
 * This host's TLS server: on every address (the default is localhost), with its certificate, and
 * client certificates checked against the CA; `auth` maps a client CN to the stanzas it may use.
 */
function serverLines(auth: Map<string, string[]>): string[] {
  return [
    ...tlsServerListenLines(),
    // A hash option: one line per client CN, its stanzas comma-separated (a repeated CN would
    // replace the earlier line, not add to it).
    ...[...auth].map(([cn, stanzas]) => `tls-server-auth=${cn}=${stanzas.join(',')}`),
  ];
}

/** Client CN → stanzas it may use, in order of first mention. */
function authorizations(stanzas: RepositoryHostStanza[]): Map<string, string[]> {
  const auth = new Map<string, string[]>();
  for (const s of stanzas) {
    for (const cn of [...s.pgHosts, ...(s.otherClients ?? [])]) {
      const list = auth.get(token('client', cn)) ?? [];
      if (!list.includes(s.stanza)) list.push(s.stanza);
      auth.set(cn, list);
    }
  }
  return auth;
}

/** The stanza's section: its PostgreSQL hosts as TLS pg hosts, its retention and passphrase. */
function stanzaSection(s: RepositoryHostStanza): string[] {
  if (s.pgHosts.length === 0 || s.pgHosts.length > 256) throw new Error(`stanza ${s.stanza}: 1 to 256 PostgreSQL hosts, got ${s.pgHosts.length}`);
  const hosts = s.pgHosts.flatMap((host, i) => {
    const pg = `pg${i + 1}`;
    return [
      `${pg}-host=${token('PostgreSQL host', host)}`,
      `${pg}-host-type=tls`,
      `${pg}-host-port=${PGBACKREST_TLS_PORT}`,
      `${pg}-host-cert-file=${PGBACKREST_TLS.cert}`,
      `${pg}-host-key-file=${PGBACKREST_TLS.key}`,
      `${pg}-host-ca-file=${PGBACKREST_TLS.ca}`,
      `${pg}-path=${DATA_DIR}`,
      `${pg}-socket-path=${SOCKET_DIR}`,
    ];
  });
  return [
    `[${token('stanza', s.stanza)}]`,
    ...hosts,
    `backup-standby=${s.backupStandby ? 'y' : 'n'}`,
    `repo1-retention-full=${s.retention.full}`,
    ...(s.retention.diff !== undefined ? [`repo1-retention-diff=${s.retention.diff}`] : []),
    // Per stanza: each cluster keeps the passphrase its repository was made with. A secure option,
    // so only in this file (0600); pgBackRest refuses it on a command line.
    ...(s.cipherPass !== undefined ? [`repo1-cipher-type=${REPOSITORY_CIPHER}`, `repo1-cipher-pass=${s.cipherPass}`] : []),
    '',
  ];
}

/** The repository host's pgbackrest.conf: the repository, its TLS server, and one section per stanza. */
export function renderRepositoryHostConfig(i: RepositoryHostRenderInput): string {
  const names = i.stanzas.map((s) => s.stanza);
  const twice = names.find((n, k) => names.indexOf(n) !== k);
  if (twice !== undefined) throw new Error(`stanza ${twice} is listed twice`);
  return [
    '# Rendered by dbaas. Do not edit: dbaas rewrites it.',
    '[global]',
    `repo1-path=${REPOSITORY_HOST_REPO_PATH}`,
    ...commonLines(i.processMax),
    // A backup starts with an immediate checkpoint instead of waiting for a spread one.
    'start-fast=y',
    ...serverLines(authorizations(i.stanzas)),
    '',
    ...i.stanzas.flatMap(stanzaSection),
  ].join('\n');
}

/**
 * A PostgreSQL host's pgbackrest.conf: the repository is the repository host over TLS (for
 * archive-push, archive-get, restore), and its own TLS server answers the repository host only,
 * for this stanza.
 */
export function renderPostgresHostConfig(i: PostgresHostRenderInput): string {
  const repo = token('repository host', i.repositoryHost);
  return [
    '# Rendered by dbaas. Do not edit: dbaas rewrites it.',
    '[global]',
    `repo1-host=${repo}`,
    'repo1-host-type=tls',
    `repo1-host-port=${PGBACKREST_TLS_PORT}`,
    `repo1-host-cert-file=${PGBACKREST_TLS.cert}`,
    `repo1-host-key-file=${PGBACKREST_TLS.key}`,
    `repo1-host-ca-file=${PGBACKREST_TLS.ca}`,
    ...commonLines(i.processMax),
    ...serverLines(new Map([[repo, [token('stanza', i.stanza)]]])),
    '',
    `[${i.stanza}]`,
    `pg1-path=${DATA_DIR}`,
    `pg1-socket-path=${SOCKET_DIR}`,
    '',
  ].join('\n');
}
