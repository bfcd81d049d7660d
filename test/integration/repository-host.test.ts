/**
 * pgBackRest 2.45's dedicated repository host over TLS (`pgbackrest server`, no SSH), with real
 * containers of the project's postgres image on a network of the test's own: a repository host
 * (the repository on its own volume, `pgbackrest server` as its main process) and plain
 * PostgreSQL hosts (initdb + pg_ctl, a streaming standby by pg_basebackup, no Patroni), each
 * running `pgbackrest server` beside PostgreSQL, configured by common/render/pgbackrest-host.ts
 * with certificates from activities/backup-certificates.ts. The product's backup layout is not
 * involved yet: this proves the pieces a cluster's move to a repository host will be made of.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import { LABEL_TEST_RUN, ensureContainerRunning, ensureNetwork, ensureVolume, execIn, removeClusterResources, tarOf, type ExecResult, type FileToPut } from '../../activities/docker';
import { REPOSITORY_HOST_AUTHORITY, ensurePgbackrestAuthority, issuePgbackrestCertificate, pgbackrestTlsFiles, tlsFilesAt } from '../../activities/backup-certificates';
import { ensureClusterCa, issueServerCertificate, readCaCert, type IssuedCertificate } from '../../activities/cluster-tls';
import { IMAGES, POSTGRES_UID, containerName, labels, networkName, repositoryVolumeName } from '../../common/names';
import type { Paths } from '../../common/paths';
import { DATA_DIR, PG_BIN, SOCKET_DIR } from '../../common/render/patroni';
import { PGBACKREST_CONFIG_DIR, archiveCommand } from '../../common/render/pgbackrest';
import {
  PGBACKREST_SERVER_COMMAND, PGBACKREST_TLS, REPOSITORY_HOST_REPO_PATH, pgbackrestIdentity, renderPostgresHostConfig, renderRepositoryHostConfig,
} from '../../common/render/pgbackrest-host';
import { execOk, psqlIn, repositoryHostLayout, until } from '../helpers/container-exec';
import { TEST_RUN, removeLeftoverTestClusters, tempPaths, testClusterName } from '../helpers/integration';

const docker = new Docker();
const owner = testClusterName('rh');
const STANZA = 'demo';
/** A stanza the restore host is authorized for at first: authorized, but not for STANZA. */
const OTHER_STANZA = 'other';
/** restoreHost: a third PostgreSQL host with an empty data directory, the restore target. */
const { repoHost, primary, standby, restoreHost } = repositoryHostLayout(owner);
const ROWS = 100_000;
const ROWS_AFTER_BACKUP = 1_000;
const cipherPass = crypto.randomBytes(24).toString('base64url');
let paths: Paths;
let backupLabel = '';

const runLabels = (role: 'backup' | 'postgres', member: string) => ({ ...labels(owner, role, member), [LABEL_TEST_RUN]: TEST_RUN });

/** The repository host's config: the restore host is authorized for the other stanza, and for STANZA once it may restore. */
function repositoryHostConfig(restoreHostMayRead: boolean): string {
  return renderRepositoryHostConfig({
    stanzas: [
      { stanza: STANZA, pgHosts: [primary, standby], backupStandby: true, otherClients: restoreHostMayRead ? [restoreHost] : [], retention: { full: 2 }, cipherPass },
      { stanza: OTHER_STANZA, pgHosts: [restoreHost], backupStandby: false, retention: { full: 1 } },
    ],
  });
}

const configFile = (content: string): FileToPut => ({ dir: PGBACKREST_CONFIG_DIR, name: 'pgbackrest.conf', content, mode: 0o600, uid: POSTGRES_UID, gid: POSTGRES_UID });

async function put(container: string, files: FileToPut[]): Promise<void> {
  for (const f of files) await docker.getContainer(container).putArchive(await tarOf(f), { path: f.dir });
}

const ok = (container: string, cmd: string[], stdin?: string): Promise<string> => execOk(docker, container, cmd, stdin);

const pgbackrest = (container: string, ...args: string[]): Promise<ExecResult> => execIn(docker, container, ['pgbackrest', `--stanza=${STANZA}`, ...args]);

const sql = (container: string, text: string): Promise<string> => psqlIn(docker, container, text);

/** `pgbackrest server` answers on the container's network address. */
async function serverUp(container: string): Promise<void> {
  await until(`pgbackrest server in ${container}`, async () => (await execIn(docker, container, ['pgbackrest', 'server-ping', container])).exitCode === 0);
}

/** A container of the postgres image whose main process is `pgbackrest server` (under the image's tini). */
async function startHost(name: string, role: 'backup' | 'postgres', config: string, binds: string[] = []): Promise<void> {
  const l = runLabels(role, name.slice(containerName(owner, '').length));
  await ensureContainerRunning(docker, {
    name,
    labels: l,
    create: { Image: IMAGES.postgres, Cmd: PGBACKREST_SERVER_COMMAND, Labels: l, HostConfig: { NetworkMode: networkName(owner), Binds: binds } },
    files: [configFile(config), ...(await pgbackrestTlsFiles(paths, REPOSITORY_HOST_AUTHORITY, name, POSTGRES_UID))],
  });
}

const postgresConf = [
  "listen_addresses = '*'",
  `unix_socket_directories = '${SOCKET_DIR}'`,
  'archive_mode = on',
  `archive_command = '${archiveCommand(STANZA)}'`,
  '',
].join('\n');

async function startPrimary(): Promise<void> {
  await ok(primary, [`${PG_BIN}/initdb`, '-D', DATA_DIR, '-U', 'postgres', '--auth=trust']);
  await ok(primary, ['sh', '-c', `cat >> ${DATA_DIR}/postgresql.conf`], postgresConf);
  // The standby streams from the primary over the test's network.
  await ok(primary, ['sh', '-c', `cat >> ${DATA_DIR}/pg_hba.conf`], 'host replication postgres samenet trust\n');
  await ok(primary, [`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
}

async function startStandby(): Promise<void> {
  await ok(standby, [`${PG_BIN}/pg_basebackup`, '-h', primary, '-U', 'postgres', '-D', DATA_DIR, '-R', '-X', 'stream', '-c', 'fast']);
  await ok(standby, [`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
  await until('the standby streaming', async () => (await sql(primary, "select count(*) from pg_stat_replication where state = 'streaming'")) === '1');
}

const txBytes = async (container: string): Promise<number> => Number(await ok(container, ['cat', '/sys/class/net/eth0/statistics/tx_bytes']));

/** The repository's archived WAL files and their sizes (compressed and encrypted: as archive-push sent them). */
async function archivedWal(): Promise<Map<string, number>> {
  const out = await ok(repoHost, ['find', `${REPOSITORY_HOST_REPO_PATH}/archive/${STANZA}`, '-type', 'f', '-printf', '%s %p\\n']);
  return new Map(out.split('\n').filter(Boolean).map((l) => [l.slice(l.indexOf(' ') + 1), Number(l.slice(0, l.indexOf(' ')))]));
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Bytes per host in a backup's detail log: `backup file HOST:PATH (SIZE, …)`. */
function bytesByHost(log: string): Map<string, number> {
  const by = new Map<string, number>();
  for (const m of log.matchAll(/backup file ([^:\s]+):\S+ \(([\d.]+)(B|KB|MB|GB)[,)]/g)) {
    by.set(m[1], (by.get(m[1]) ?? 0) + Number(m[2]) * UNITS[m[3]]);
  }
  return by;
}

describe('pgBackRest 2.45 with a dedicated repository host over TLS', () => {
  before(async () => {
    paths = tempPaths();
    await removeLeftoverTestClusters(docker);
    await ensurePgbackrestAuthority(paths);
    await ensureNetwork(docker, owner, { ...labels(owner, 'network'), [LABEL_TEST_RUN]: TEST_RUN });
    await ensureVolume(docker, repositoryVolumeName(owner), { ...labels(owner, 'backup'), [LABEL_TEST_RUN]: TEST_RUN });
    await startHost(repoHost, 'backup', repositoryHostConfig(false), [`${repositoryVolumeName(owner)}:${REPOSITORY_HOST_REPO_PATH}`]);
    const pgConfig = renderPostgresHostConfig({ stanza: STANZA, repositoryHost: repoHost });
    await Promise.all([primary, standby, restoreHost].map((h) => startHost(h, 'postgres', pgConfig)));
    await Promise.all([repoHost, primary, standby, restoreHost].map(serverUp));
    await startPrimary();
    await sql(primary, `create table t as select i, md5(i::text) as v from generate_series(1, ${ROWS}) i`);
    await startStandby();
  });

  after(async () => {
    await removeClusterResources(docker, owner, { data: false, backups: false }, 1);
    fs.rmSync(paths.home, { recursive: true, force: true });
  });

  test('stanza-create and check run on the repository host; WAL is pushed to it over TLS; no PostgreSQL host holds repository files', async () => {
    for (const cmd of ['stanza-create', 'check']) {
      const r = await pgbackrest(repoHost, cmd);
      assert.equal(r.exitCode, 0, `${cmd}:\n${r.output}`);
    }
    // check switched a WAL segment on the primary and waited for it in the repository: archive-push
    // reached the repository host. The segments are there, encrypted, and only there.
    const segments = await ok(repoHost, ['find', `${REPOSITORY_HOST_REPO_PATH}/archive/${STANZA}`, '-name', '0000000100000000000000*']);
    assert.match(segments, /\/15-1\/0000000100000000\/0000000100000000000000[0-9A-F]{2}-[0-9a-f]{40}\.lz4/);
    for (const h of [primary, standby, restoreHost]) {
      assert.equal((await ok(h, ['find', REPOSITORY_HOST_REPO_PATH, '-mindepth', '1'])).trim(), '', `${h} holds repository files`);
    }
  });

  test('a backup run on the repository host reads the data files from the standby: the primary serves only a few small files', async () => {
    const table = await sql(primary, "select pg_relation_filepath('t')");
    const tableBytes = Number(await sql(primary, "select pg_relation_size('t')"));
    const streamedTo = () => sql(primary, 'select sent_lsn from pg_stat_replication');
    const wal0 = await archivedWal();
    const lsn0 = await streamedTo();
    const tx0 = { primary: await txBytes(primary), standby: await txBytes(standby) };
    // What a user watches on the primary while the backup runs.
    const seen = new Set<string>();
    let running = true;
    const watch = (async () => {
      while (running) {
        const rows = await sql(primary, "select backend_type || '|' || coalesce(application_name, '') from pg_stat_activity where pid <> pg_backend_pid() and backend_type in ('client backend', 'walsender')");
        for (const r of rows.split('\n').filter(Boolean)) seen.add(r);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const backup = await pgbackrest(repoHost, '--type=full', '--log-level-console=detail', 'backup');
    running = false;
    await watch;
    assert.equal(backup.exitCode, 0, backup.output);
    const lsn1 = await streamedTo();
    const tx1 = { primary: await txBytes(primary), standby: await txBytes(standby) };

    const [info] = JSON.parse(await ok(repoHost, ['pgbackrest', `--stanza=${STANZA}`, '--output=json', 'info'])) as {
      status: { code: number; message: string };
      backup: { label: string; type: string }[];
      cipher: string;
    }[];
    assert.equal(info.status.code, 0, info.status.message);
    assert.equal(info.cipher, 'aes-256-cbc');
    assert.deepEqual(info.backup.map((b) => b.type), ['full']);
    backupLabel = info.backup[0].label;

    // Which host served which file, by pgBackRest's own log.
    const by = bytesByHost(backup.output);
    const fromPrimary = by.get(primary) ?? 0;
    const fromStandby = by.get(standby) ?? 0;
    // The same on the wire: what each host sent while the backup ran. The primary also streamed WAL
    // to the standby (the backup's two WAL switches pad each segment out: 16 MB apiece) and pushed
    // WAL to the repository: that runs with or without a backup; count it apart.
    const streamed = Number(await sql(primary, `select pg_wal_lsn_diff('${lsn1}', '${lsn0}')`));
    const walPushed = [...(await archivedWal())].filter(([f]) => !wal0.has(f)).reduce((n, [, size]) => n + size, 0);
    const sent = { primary: tx1.primary - tx0.primary, standby: tx1.standby - tx0.standby, primaryWalStreamed: streamed, primaryWalPushed: walPushed, tableBytes };
    const sessions = [...seen].sort();
    console.log(`# backup from the standby: ${JSON.stringify({ bytesInLog: Object.fromEntries(by), sentOnWire: sent, primarySessions: sessions })}`);

    assert.deepEqual([...by.keys()].sort(), [primary, standby].sort(), backup.output);
    assert.ok(backup.output.includes(`backup file ${standby}:${DATA_DIR}/${table} `), `the table ${table} comes from the standby`);
    assert.ok(!backup.output.includes(`backup file ${primary}:${DATA_DIR}/${table} `), 'not from the primary');
    assert.ok(fromPrimary < 0.05 * fromStandby, `bytes copied from the primary ${fromPrimary}, from the standby ${fromStandby}`);
    assert.ok(sent.standby > tableBytes, 'the standby sent the table');
    assert.ok(sent.primary - streamed - walPushed < 1024 ** 2, 'the primary sent under 1 MB besides its WAL');
    // On the primary only pgBackRest's SQL session (start/stop) and the standby's WAL stream: no copy.
    assert.ok(sessions.some((s) => s.startsWith('client backend|pgBackRest [backup]')), sessions.join('\n'));
    assert.deepEqual(sessions.filter((s) => s.startsWith('walsender|')), ['walsender|walreceiver'], sessions.join('\n'));
  });

  test('clients are checked: a certificate from another CA is refused, so is a server-only certificate, and a CN not authorized for the stanza', async () => {
    // `pgbackrest info` on the restore host, presenting another certificate for its own CN: the
    // status it prints (info exits 0 and reports a repository it cannot read in its status).
    const infoPresenting = async (prefix: string, issued: IssuedCertificate): Promise<string> => {
      await put(restoreHost, tlsFilesAt(issued, readCaCert(paths, REPOSITORY_HOST_AUTHORITY), POSTGRES_UID).map((f) => ({ ...f, name: `${prefix}-${f.name}` })));
      const dir = PGBACKREST_TLS.cert.slice(0, PGBACKREST_TLS.cert.lastIndexOf('/'));
      return (await pgbackrest(restoreHost, `--repo1-host-cert-file=${dir}/${prefix}-tls.crt`, `--repo1-host-key-file=${dir}/${prefix}-tls.key`, 'info')).output;
    };
    await ensureClusterCa(paths, `${owner}-other`);
    const otherCa = await infoPresenting('other-ca', await issuePgbackrestCertificate(paths, `${owner}-other`, restoreHost));
    assert.match(otherCa, /status: error .*\n.*TLS error .*alert unknown ca/, otherCa);
    // Right CA and CN, but only the serverAuth purpose: the server checks the client purpose.
    const serverOnly = await infoPresenting('server-only', await issueServerCertificate(paths, REPOSITORY_HOST_AUTHORITY, pgbackrestIdentity(restoreHost)));
    assert.match(serverOnly, /status: error .*\n.*TLS error .*alert unsupported certificate/, serverOnly);
    // The restore host's own certificate, authorized for the other stanza only.
    const notForStanza = (await pgbackrest(restoreHost, 'info')).output;
    assert.match(notForStanza, /status: error .*\n.*access denied/, notForStanza);
    console.log(`# refusals: ${JSON.stringify({ otherCa, serverOnly, notForStanza })}`);
  });

  test('after the repository host authorizes it (config + SIGHUP), a fresh PostgreSQL host restores from it over TLS and recovers every archived row', async () => {
    await sql(primary, `create table t2 as select i from generate_series(1, ${ROWS_AFTER_BACKUP}) i`);
    // check switches the WAL segment holding t2 and waits until the repository host has it.
    await ok(repoHost, ['pgbackrest', `--stanza=${STANZA}`, 'check']);

    await put(repoHost, [configFile(repositoryHostConfig(true))]);
    await docker.getContainer(repoHost).kill({ signal: 'HUP' });
    await until('the restore host authorized', async () => (await pgbackrest(restoreHost, 'info')).exitCode === 0);

    await ok(restoreHost, ['mkdir', '-m', '0700', DATA_DIR]);
    // archive-mode=off: the restored server must not push into the source's stanza.
    const restore = await pgbackrest(restoreHost, '--archive-mode=off', 'restore');
    assert.equal(restore.exitCode, 0, restore.output);
    assert.match(restore.output, new RegExp(`restore backup set ${backupLabel}`));
    await ok(restoreHost, [`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
    await until('recovery to end and promotion', async () => (await sql(restoreHost, 'select pg_is_in_recovery()')) === 'f', 60_000);
    assert.equal(await sql(restoreHost, 'select count(*) from t'), String(ROWS));
    assert.equal(await sql(restoreHost, 'select count(*) from t2'), String(ROWS_AFTER_BACKUP), 'rows from WAL archived after the backup');
  });

  test('no PostgreSQL host mounts the repository: from inside one, `rm` has nothing to act on', async () => {
    for (const h of [primary, standby, restoreHost]) {
      const mounts = (await docker.getContainer(h).inspect()).Mounts ?? [];
      assert.deepEqual(mounts.map((m) => m.Name ?? m.Source), [], `${h} mounts something`);
      await ok(h, ['rm', '-rf', `${REPOSITORY_HOST_REPO_PATH}/backup`, `${REPOSITORY_HOST_REPO_PATH}/archive`]);
    }
    const [info] = JSON.parse(await ok(repoHost, ['pgbackrest', `--stanza=${STANZA}`, '--output=json', 'info'])) as { status: { code: number }; backup: { label: string }[] }[];
    assert.equal(info.status.code, 0);
    assert.deepEqual(info.backup.map((b) => b.label), [backupLabel]);
  });

  // Measured, not wished: these pin pgBackRest 2.45's behaviour. The server authorizes a client CN
  // for a stanza name, then loads the options the client sends (repo1-path included) and serves
  // its whole storage API. If one of these starts failing, pgBackRest changed: revisit the claims.
  test('caveat (pgBackRest 2.45): a client authorized for its stanza writes anywhere the server can, reads its config and key, and deletes its own stanza', async () => {
    const repo = REPOSITORY_HOST_REPO_PATH;
    const canary = `${repo}/backup/${OTHER_STANZA}/canary`;
    await ok(repoHost, ['sh', '-c', `mkdir -p ${repo}/backup/${OTHER_STANZA} && echo kept > ${canary}`]);
    const fromPrimary = (args: string[], stdin?: string) => execIn(docker, primary, ['pgbackrest', `--stanza=${STANZA}`, ...args], stdin);

    const ls = await fromPrimary(['repo-ls', 'backup']);
    assert.deepEqual(ls.output.split('\n').filter(Boolean).sort(), [STANZA, OTHER_STANZA].sort(), 'another stanza is listed');
    // repo-rm (internal in 2.45) fails in the client before it reaches a remote repository.
    const rm = await fromPrimary(['repo-rm', `backup/${OTHER_STANZA}/canary`]);
    assert.match(rm.output, /option 'compress-level-network' is not valid for the current command/);
    // repo-put (internal too) works: another stanza's file is overwritten.
    assert.equal((await fromPrimary(['repo-put', '--raw', `backup/${OTHER_STANZA}/canary`], 'overwritten\n')).exitCode, 0);
    assert.equal(await ok(repoHost, ['cat', canary]), 'overwritten\n');
    // Outside the repository: the repository host's config (every stanza's passphrase) and TLS key.
    const conf = await fromPrimary(['--repo1-path=/etc/pgbackrest', 'repo-get', '--raw', 'pgbackrest.conf']);
    assert.ok(conf.exitCode === 0 && conf.output.includes(`repo1-cipher-pass=${cipherPass}`), conf.output);
    assert.match((await fromPrimary(['--repo1-path=/etc/pgbackrest', 'repo-get', '--raw', 'tls.key'])).output, /BEGIN PRIVATE KEY/);
    assert.equal((await fromPrimary(['--repo1-path=/etc/pgbackrest', 'repo-put', '--raw', 'planted'], 'x')).exitCode, 0);
    assert.equal(await ok(repoHost, ['cat', '/etc/pgbackrest/planted']), 'x');
    // Its own stanza, backups and WAL: `stop` is local to the client, and stanza-delete --force runs.
    await ok(primary, ['pgbackrest', `--stanza=${STANZA}`, 'stop']);
    await ok(primary, ['pgbackrest', `--stanza=${STANZA}`, '--force', 'stanza-delete']);
    assert.match(await ok(repoHost, ['pgbackrest', `--stanza=${STANZA}`, 'info']), /status: error \(missing stanza path\)/);
    assert.equal((await ok(repoHost, ['find', repo, '-path', `*/${STANZA}*`])).trim(), '', 'nothing of the stanza is left');
  });
});
