/**
 * Can the repository host protect a stanza's backups from a PostgreSQL host authorized for it?
 * pgBackRest 2.45's `tls-server-auth` checks only the stanza name a client sends, then serves its
 * whole storage API as the server's Unix user (repository-host.test.ts measures it). Here the
 * repository host runs one `pgbackrest server` per stanza, each as a Unix user of its own, with
 * its own config, key and port, and Unix permissions do the rest:
 *
 * - root (the "backup user" of the repository host) runs stanza-create, check, backup and expire
 *   with the repository host's config (/etc/pgbackrest/pgbackrest.conf, 0600) and its client key;
 * - backup/<stanza> is root:<stanza group> 2750: the stanza's server reads backups (restore)
 *   and writes nothing; files keep the group by setgid;
 * - archive/<stanza> is root:<stanza group> 3770 (setgid, sticky): the stanza's server pushes
 *   WAL, and cannot remove what root wrote there (archive.info) or has sealed (chown root);
 * - /var/lib/pgbackrest, backup/ and archive/ are 0711 and /etc/pgbackrest 0711: a server lists
 *   no stanza and reads no other config; /etc/pgbackrest/<stanza>/ is its own (0700).
 *
 * pgBackRest 2.45 makes files 0640 and directories 0750 whatever the umask (neutral-umask=y,
 * the default; with neutral-umask=n the umask only takes bits away), so no group scheme lets a
 * non-root user remove WAL the server wrote: expire runs as root. Measured below.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import { LABEL_TEST_RUN, ensureContainerRunning, ensureNetwork, ensureVolume, execIn, removeClusterResources, tarOf, type ExecResult, type FileToPut } from '../../activities/docker';
import { REPOSITORY_HOST_AUTHORITY, ensurePgbackrestAuthority, pgbackrestTlsFiles, tlsFilesAt } from '../../activities/backup-certificates';
import { issueServerCertificate, readCaCert } from '../../activities/cluster-tls';
import { IMAGES, POSTGRES_UID, containerName, labels, networkName, repositoryVolumeName } from '../../common/names';
import type { Paths } from '../../common/paths';
import { DATA_DIR, PG_BIN, SOCKET_DIR } from '../../common/render/patroni';
import { PGBACKREST_CONFIG_DIR, PGBACKREST_CONFIG_PATH, REPOSITORY_CIPHER, archiveCommand } from '../../common/render/pgbackrest';
import {
  PGBACKREST_SERVER_COMMAND, PGBACKREST_TLS_PORT, REPOSITORY_HOST_REPO_PATH, pgbackrestIdentity, renderPostgresHostConfig, renderRepositoryHostConfig,
} from '../../common/render/pgbackrest-host';
import { execOk, psqlIn, repositoryHostLayout, until } from '../helpers/container-exec';
import { TEST_RUN, removeLeftoverTestClusters, tempPaths, testClusterName } from '../helpers/integration';

const docker = new Docker();
const owner = testClusterName('iso');
const REPO = REPOSITORY_HOST_REPO_PATH;
/** restoreHost: a PostgreSQL host with an empty data directory, authorized for the stanza, the restore target. */
const { repoHost, primary, standby, restoreHost } = repositoryHostLayout(owner);
const ROWS = 10_000;

/** One `pgbackrest server` per stanza on the repository host: its own user (uid = gid), port, config and key. */
interface StanzaServer { stanza: string; uid: number; port: number; clients: string[]; cipherPass: string }
const DEMO: StanzaServer = { stanza: 'demo', uid: 20001, port: PGBACKREST_TLS_PORT + 1, clients: [primary, standby, restoreHost], cipherPass: crypto.randomBytes(24).toString('base64url') };
/** Another cluster's stanza on the same repository host; its PostgreSQL host does not run here. */
const OTHER: StanzaServer = { stanza: 'other', uid: 20002, port: PGBACKREST_TLS_PORT + 2, clients: [containerName(owner, 'other-0')], cipherPass: crypto.randomBytes(24).toString('base64url') };
const SERVERS = [DEMO, OTHER];
/** A non-root user in DEMO's group: what a group-permission "backup user" could do. */
const GROUP_MEMBER_UID = 20100;
const serverDir = (s: StanzaServer) => `${PGBACKREST_CONFIG_DIR}/${s.stanza}`;

const runLabels = (role: 'backup' | 'postgres', member: string) => ({ ...labels(owner, role, member), [LABEL_TEST_RUN]: TEST_RUN });
let paths: Paths;

/** The stanza server's config: the repository, its TLS server for the stanza's clients, the stanza's passphrase. */
function stanzaServerConfig(s: StanzaServer): string {
  return [
    '[global]',
    `repo1-path=${REPO}`,
    'log-level-file=off',
    `lock-path=/tmp/pgbackrest-${s.stanza}`,
    'tls-server-address=*',
    `tls-server-port=${s.port}`,
    `tls-server-cert-file=${serverDir(s)}/tls.crt`,
    `tls-server-key-file=${serverDir(s)}/tls.key`,
    `tls-server-ca-file=${serverDir(s)}/tls-ca.crt`,
    ...s.clients.map((cn) => `tls-server-auth=${cn}=${s.stanza}`),
    '',
    `[${s.stanza}]`,
    `repo1-cipher-type=${REPOSITORY_CIPHER}`,
    `repo1-cipher-pass=${s.cipherPass}`,
    '',
  ].join('\n');
}

/**
 * The stanza server's files, owned by its user. Its certificate is serverAuth only: its key is
 * readable through the server itself, and with clientAuth it would pass, under the repository
 * host's name, the PostgreSQL hosts of every other stanza.
 */
async function stanzaServerFiles(s: StanzaServer): Promise<FileToPut[]> {
  const issued = await issueServerCertificate(paths, REPOSITORY_HOST_AUTHORITY, pgbackrestIdentity(repoHost));
  const config: FileToPut = { dir: serverDir(s), name: 'pgbackrest.conf', content: stanzaServerConfig(s), mode: 0o600, uid: s.uid, gid: s.uid };
  return [config, ...tlsFilesAt(issued, readCaCert(paths, REPOSITORY_HOST_AUTHORITY), s.uid).map((f) => ({ ...f, dir: serverDir(s) }))];
}

/** Users, directories and modes of the repository host, as root. */
const layoutScript = [
  'set -e',
  `chown root:root ${PGBACKREST_CONFIG_DIR} ${REPO} && chmod 0711 ${PGBACKREST_CONFIG_DIR} ${REPO}`,
  `install -d -o 0 -g 0 -m 0711 ${REPO}/backup ${REPO}/archive`,
  ...SERVERS.flatMap((s) => [
    `groupadd -g ${s.uid} pgbackrest-${s.stanza} && useradd -u ${s.uid} -g ${s.uid} -M -d /nonexistent -s /usr/sbin/nologin pgbackrest-${s.stanza}`,
    `install -d -o ${s.uid} -g ${s.uid} -m 0700 ${serverDir(s)}`,
    `install -d -o 0 -g ${s.uid} -m 2750 ${REPO}/backup/${s.stanza}`,
    `install -d -o 0 -g ${s.uid} -m 3770 ${REPO}/archive/${s.stanza}`,
  ]),
  `useradd -u ${GROUP_MEMBER_UID} -M -d /nonexistent -s /usr/sbin/nologin -G pgbackrest-${DEMO.stanza} group-member`,
].join('\n');

async function put(container: string, files: FileToPut[]): Promise<void> {
  for (const f of files) await docker.getContainer(container).putArchive(await tarOf(f), { path: f.dir });
}

const ok = (container: string, cmd: string[], stdin?: string): Promise<string> => execOk(docker, container, cmd, stdin);

/** On the repository host every exec is root's: the backup user. */
const asRoot = (...args: string[]): Promise<ExecResult> => execIn(docker, repoHost, ['pgbackrest', `--stanza=${DEMO.stanza}`, ...args]);
/** What a PostgreSQL host authorized for DEMO can ask DEMO's server. */
const fromPrimary = (args: string[], stdin?: string): Promise<ExecResult> => execIn(docker, primary, ['pgbackrest', `--stanza=${DEMO.stanza}`, ...args], stdin);

const sql = (container: string, text: string): Promise<string> => psqlIn(docker, container, text);

async function serverUp(container: string, port: number): Promise<void> {
  await until(`pgbackrest server on ${container}:${port}`, async () => (await execIn(docker, container, ['pgbackrest', `--tls-server-port=${port}`, 'server-ping', container])).exitCode === 0);
}

/** The stanza's server, started by root as the stanza's user; it reads only its own config. */
async function startStanzaServer(s: StanzaServer): Promise<void> {
  const server = ['setpriv', `--reuid=${s.uid}`, `--regid=${s.uid}`, '--clear-groups', ...PGBACKREST_SERVER_COMMAND].join(' ');
  // In the background, output closed: the exec ends, the server stays (reparented to tini).
  await ok(repoHost, ['sh', '-c', `PGBACKREST_CONFIG=${serverDir(s)}/pgbackrest.conf ${server} </dev/null >/dev/null 2>&1 &`]);
}

async function startPostgresHost(name: string): Promise<void> {
  const l = runLabels('postgres', name.slice(containerName(owner, '').length));
  // The repository is DEMO's server on the repository host; this host's own server answers root's backups.
  const config = renderPostgresHostConfig({ stanza: DEMO.stanza, repositoryHost: repoHost }).replace(`repo1-host-port=${PGBACKREST_TLS_PORT}`, `repo1-host-port=${DEMO.port}`);
  await ensureContainerRunning(docker, {
    name,
    labels: l,
    create: { Image: IMAGES.postgres, Cmd: PGBACKREST_SERVER_COMMAND, Labels: l, HostConfig: { NetworkMode: networkName(owner) } },
    files: [
      { dir: PGBACKREST_CONFIG_DIR, name: 'pgbackrest.conf', content: config, mode: 0o600, uid: POSTGRES_UID, gid: POSTGRES_UID },
      ...(await pgbackrestTlsFiles(paths, REPOSITORY_HOST_AUTHORITY, name, POSTGRES_UID)),
    ],
  });
}

async function startRepositoryHost(): Promise<void> {
  const l = runLabels('backup', 'repo');
  await ensureContainerRunning(docker, {
    name: repoHost,
    labels: l,
    create: {
      Image: IMAGES.postgres, User: 'root', Cmd: ['sleep', 'infinity'], Labels: l,
      HostConfig: { NetworkMode: networkName(owner), Binds: [`${repositoryVolumeName(owner)}:${REPO}`] },
    },
  });
  await ok(repoHost, ['sh', '-c', layoutScript]);
  // Root's config: every stanza, every passphrase, and the client key the PostgreSQL hosts authorize.
  const rootConfig = renderRepositoryHostConfig({
    stanzas: [
      { stanza: DEMO.stanza, pgHosts: [primary, standby], backupStandby: true, retention: { full: 1 }, cipherPass: DEMO.cipherPass },
      { stanza: OTHER.stanza, pgHosts: OTHER.clients, backupStandby: false, retention: { full: 1 }, cipherPass: OTHER.cipherPass },
    ],
  });
  await put(repoHost, [
    { dir: PGBACKREST_CONFIG_DIR, name: 'pgbackrest.conf', content: rootConfig, mode: 0o600, uid: 0, gid: 0 },
    ...(await pgbackrestTlsFiles(paths, REPOSITORY_HOST_AUTHORITY, repoHost, 0)),
    ...(await Promise.all(SERVERS.map(stanzaServerFiles))).flat(),
  ]);
  for (const s of SERVERS) await startStanzaServer(s);
}

async function startPrimary(): Promise<void> {
  const conf = [`listen_addresses = '*'`, `unix_socket_directories = '${SOCKET_DIR}'`, 'archive_mode = on', `archive_command = '${archiveCommand(DEMO.stanza)}'`, ''].join('\n');
  await ok(primary, [`${PG_BIN}/initdb`, '-D', DATA_DIR, '-U', 'postgres', '--auth=trust']);
  await ok(primary, ['sh', '-c', `cat >> ${DATA_DIR}/postgresql.conf`], conf);
  await ok(primary, ['sh', '-c', `cat >> ${DATA_DIR}/pg_hba.conf`], 'host replication postgres samenet trust\n');
  await ok(primary, [`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
  await sql(primary, `create table t as select i, md5(i::text) as v from generate_series(1, ${ROWS}) i`);
  await ok(standby, [`${PG_BIN}/pg_basebackup`, '-h', primary, '-U', 'postgres', '-D', DATA_DIR, '-R', '-X', 'stream', '-c', 'fast']);
  await ok(standby, [`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
  await until('the standby streaming', async () => (await sql(primary, "select count(*) from pg_stat_replication where state = 'streaming'")) === '1');
}

/** `uid:gid mode path` of every file or directory under `dir`, as root sees them. */
async function owners(dir: string, type: 'f' | 'd'): Promise<string[]> {
  return (await ok(repoHost, ['find', dir, '-mindepth', '1', '-type', type, '-printf', '%U:%G %m %p\\n'])).split('\n').filter(Boolean);
}

const walFiles = async (): Promise<string[]> => (await owners(`${REPO}/archive/${DEMO.stanza}`, 'f')).map((l) => l.split(' ')[2]).filter((p) => /\/[0-9A-F]{24}-[0-9a-f]{40}/.test(p)).sort();

interface StanzaInfo { status: { code: number; message: string }; backup: { label: string; archive: { start: string } }[] }
async function info(): Promise<StanzaInfo> {
  return (JSON.parse(await ok(repoHost, ['pgbackrest', `--stanza=${DEMO.stanza}`, '--output=json', 'info'])) as StanzaInfo[])[0];
}

/**
 * Root takes what DEMO's server has archived: files and directories become root's, directories
 * 3770. The server still adds WAL (group write) but can no longer replace or remove sealed WAL
 * (sticky bit: only the owner may).
 */
const sealArchive = () => ok(repoHost, ['sh', '-c', `chown -R 0 ${REPO}/archive/${DEMO.stanza} && find ${REPO}/archive/${DEMO.stanza} -type d -exec chmod 3770 {} +`]);

let firstBackup = '';

describe('pgBackRest 2.45 repository host: one server per stanza, each as its own Unix user', () => {
  before(async () => {
    paths = tempPaths();
    await removeLeftoverTestClusters(docker);
    await ensurePgbackrestAuthority(paths);
    await ensureNetwork(docker, owner, { ...labels(owner, 'network'), [LABEL_TEST_RUN]: TEST_RUN });
    await ensureVolume(docker, repositoryVolumeName(owner), { ...labels(owner, 'backup'), [LABEL_TEST_RUN]: TEST_RUN });
    await startRepositoryHost();
    await Promise.all([primary, standby, restoreHost].map(startPostgresHost));
    await Promise.all([
      ...SERVERS.map((s) => serverUp(repoHost, s.port)),
      ...[primary, standby, restoreHost].map((h) => serverUp(h, PGBACKREST_TLS_PORT)),
    ]);
    await startPrimary();
  });

  after(async () => {
    await removeClusterResources(docker, owner, { data: false, backups: false }, 1);
    fs.rmSync(paths.home, { recursive: true, force: true });
  });

  test('each stanza server runs as its own user; root makes the stanza; WAL arrives as the server user, 0640 in setgid 0750 directories', async () => {
    const ps = await ok(repoHost, ['sh', '-c', 'for p in /proc/[0-9]*; do echo "$(stat -c %u $p) $(tr "\\0" " " < $p/cmdline)"; done']);
    for (const s of SERVERS) assert.match(ps, new RegExp(`^${s.uid} pgbackrest server $`, 'm'));
    for (const cmd of ['stanza-create', 'check']) {
      const r = await asRoot(cmd);
      assert.equal(r.exitCode, 0, `${cmd}:\n${r.output}`);
    }
    const files = await owners(`${REPO}/archive/${DEMO.stanza}`, 'f');
    assert.ok(files.includes(`0:${DEMO.uid} 640 ${REPO}/archive/${DEMO.stanza}/archive.info`), files.join('\n'));
    const wal = files.filter((l) => /\/[0-9A-F]{24}-/.test(l));
    assert.ok(wal.length > 0, files.join('\n'));
    for (const l of wal) assert.match(l, new RegExp(`^${DEMO.uid}:${DEMO.uid} 640 `));
    for (const l of await owners(`${REPO}/archive/${DEMO.stanza}`, 'd')) assert.match(l, new RegExp(`^${DEMO.uid}:${DEMO.uid} 2750 `));
    // So a non-root user of the server's group reads that WAL but cannot remove it: expire cannot
    // run as such a user, whatever the umask.
    const rm = await execIn(docker, repoHost, ['setpriv', `--reuid=${GROUP_MEMBER_UID}`, `--regid=${GROUP_MEMBER_UID}`, '--init-groups', 'rm', '-f', wal[0].split(' ')[2]]);
    assert.match(rm.output, /Permission denied/);
    console.log(`# modes: ${JSON.stringify({ files, groupMemberRm: rm.output.trim() })}`);
  });

  test('root backs up from the standby twice; expire (retention 1) removes the first backup and its WAL; backups are root:group 0640', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await asRoot('--type=full', 'backup');
      assert.equal(r.exitCode, 0, r.output);
      assert.match(r.output, /replay on the standby/);
      if (i === 0) firstBackup = (await info()).backup[0].label;
    }
    const r = await asRoot('expire');
    assert.equal(r.exitCode, 0, r.output);
    const after = await info();
    assert.equal(after.status.code, 0, after.status.message);
    assert.equal(after.backup.length, 1);
    assert.notEqual(after.backup[0].label, firstBackup);
    const oldest = (await walFiles()).map((p) => p.slice(p.lastIndexOf('/') + 1, p.lastIndexOf('/') + 25)).sort()[0];
    assert.ok(oldest >= after.backup[0].archive.start, `WAL ${oldest} older than the kept backup's ${after.backup[0].archive.start} is left`);
    for (const l of await owners(`${REPO}/backup/${DEMO.stanza}`, 'f')) assert.match(l, new RegExp(`^0:${DEMO.uid} 640 `));
    for (const l of await owners(`${REPO}/backup/${DEMO.stanza}`, 'd')) assert.match(l, new RegExp(`^0:${DEMO.uid} 2750 `));
    await sealArchive();
  });

  test('a fresh PostgreSQL host restores through the stanza server and recovers rows archived after the backup', async () => {
    await sql(primary, 'create table t2 as select i from generate_series(1, 1000) i');
    await ok(repoHost, ['pgbackrest', `--stanza=${DEMO.stanza}`, 'check']);
    await ok(restoreHost, ['mkdir', '-m', '0700', DATA_DIR]);
    const restore = await execIn(docker, restoreHost, ['pgbackrest', `--stanza=${DEMO.stanza}`, '--archive-mode=off', 'restore']);
    assert.equal(restore.exitCode, 0, restore.output);
    await ok(restoreHost, [`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
    await until('recovery to end and promotion', async () => (await sql(restoreHost, 'select pg_is_in_recovery()')) === 'f', 60_000);
    assert.equal(await sql(restoreHost, 'select count(*) from t'), String(ROWS));
    assert.equal(await sql(restoreHost, 'select count(*) from t2'), '1000');
  });

  test('attacks from an authorized PostgreSQL host: what the per-stanza user stops and what it does not', async () => {
    const seen: Record<string, string> = {};
    const attempt = async (what: string, args: string[], stdin?: string): Promise<ExecResult> => {
      const r = await fromPrimary(args, stdin);
      const lines = r.output.trim().split('\n');
      seen[what] = `${r.exitCode}: ${lines.find((l) => l.includes('ERROR')) ?? lines.slice(-1)[0]}`;
      return r;
    };
    await ok(repoHost, ['sh', '-c', `echo kept > ${REPO}/backup/${OTHER.stanza}/canary && chgrp ${OTHER.uid} ${REPO}/backup/${OTHER.stanza}/canary`]);
    const label = (await info()).backup[0].label;
    const stopped = async (what: string, args: string[], stdin?: string) => {
      const r = await attempt(what, args, stdin);
      assert.notEqual(r.exitCode, 0, `${what} worked:\n${r.output}`);
    };
    // Stopped: listing stanzas, other stanzas, backups, configs and keys that are not its own.
    await stopped('list stanzas', ['repo-ls', 'backup']);
    await stopped('read another stanza', ['repo-get', '--raw', `backup/${OTHER.stanza}/canary`]);
    await stopped('write another stanza', ['repo-put', '--raw', `backup/${OTHER.stanza}/canary`], 'overwritten\n');
    await stopped('overwrite backup.info', ['repo-put', '--raw', `backup/${DEMO.stanza}/backup.info`], 'x');
    await stopped('overwrite a backup manifest', ['repo-put', '--raw', `backup/${DEMO.stanza}/${label}/backup.manifest`], 'x');
    await stopped('add a file to a backup', ['repo-put', '--raw', `backup/${DEMO.stanza}/${label}/planted`], 'x');
    await stopped('overwrite archive.info', ['repo-put', '--raw', `archive/${DEMO.stanza}/archive.info`], 'x');
    for (const file of ['pgbackrest.conf', 'tls.key', `${OTHER.stanza}/pgbackrest.conf`, `${OTHER.stanza}/tls.key`]) {
      await stopped(`read ${file}`, [`--repo1-path=${PGBACKREST_CONFIG_DIR}`, 'repo-get', '--raw', file]);
    }
    await stopped('plant a file in /etc/pgbackrest', [`--repo1-path=${PGBACKREST_CONFIG_DIR}`, 'repo-put', '--raw', 'planted'], 'x');
    const sealed = (await walFiles())[0].slice(`${REPO}/`.length);
    await stopped('overwrite sealed WAL', ['repo-put', '--raw', sealed], 'x');
    assert.equal(await ok(repoHost, ['cat', `${REPO}/backup/${OTHER.stanza}/canary`]), 'kept\n');

    // Not stopped: what the server's user may do by design. Its own config and key (its own
    // passphrase; a serverAuth-only certificate), and WAL pushed since the last seal.
    const ownConf = await attempt('read its own server config', [`--repo1-path=${serverDir(DEMO)}`, 'repo-get', '--raw', 'pgbackrest.conf']);
    assert.ok(ownConf.exitCode === 0 && ownConf.output.includes(DEMO.cipherPass), ownConf.output);
    await sql(primary, 'select pg_switch_wal()');
    await ok(repoHost, ['pgbackrest', `--stanza=${DEMO.stanza}`, 'check']);
    const unsealed = (await owners(`${REPO}/archive/${DEMO.stanza}`, 'f')).filter((l) => l.startsWith(`${DEMO.uid}:`)).map((l) => l.split(' ')[2].slice(`${REPO}/`.length));
    assert.ok(unsealed.length > 0, 'WAL pushed after the seal');
    assert.equal((await attempt('overwrite unsealed WAL', ['repo-put', '--raw', unsealed[0]], 'x')).exitCode, 0);
    assert.equal(await ok(repoHost, ['cat', `${REPO}/${unsealed[0]}`]), 'x');
    await attempt('write in /tmp of the repository host', ['--repo1-path=/tmp', 'repo-put', '--raw', 'planted'], 'x');

    // stanza-delete: `stop` is the client's own; the delete fails on root's files; backups stay.
    await ok(primary, ['pgbackrest', `--stanza=${DEMO.stanza}`, 'stop']);
    await stopped('stanza-delete --force', ['--force', 'stanza-delete']);
    const kept = await info();
    assert.equal(kept.status.code, 0, kept.status.message);
    assert.deepEqual(kept.backup.map((b) => b.label), [label]);
    // And the stanza still archives once the primary starts again.
    await ok(primary, ['pgbackrest', `--stanza=${DEMO.stanza}`, 'start']);
    await ok(repoHost, ['pgbackrest', `--stanza=${DEMO.stanza}`, 'check']);
    seen['left after stanza-delete'] = (await ok(repoHost, ['find', `${REPO}/archive/${DEMO.stanza}`, `${REPO}/backup/${DEMO.stanza}`, '-maxdepth', '1'])).trim().replaceAll('\n', ' ');
    console.log(`# attacks: ${JSON.stringify(seen, null, 1)}`);
  });
});
