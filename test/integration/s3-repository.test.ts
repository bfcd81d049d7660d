/**
 * pgBackRest 2.45 (the postgres image's) keeps a repository in a real S3 server on this machine:
 * SeaweedFS, built by `dev up`, over HTTPS with our CA, on a network of the test's own beside a
 * plain PostgreSQL (initdb + pg_ctl) in the project's postgres image. The product's backup
 * layout is not involved yet: this proves the pieces a cluster's S3 repository will be made of.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import { LABEL_TEST_RUN, ensureContainerRunning, ensureNetwork, execIn, removeClusterResources, tarOf, type ExecResult, type FileToPut } from '../../activities/docker';
import { ensureClusterCa, readCaCert } from '../../activities/cluster-tls';
import { IMAGES, containerName, labels, networkName } from '../../common/names';
import type { Paths } from '../../common/paths';
import { DATA_DIR, PG_BIN, SOCKET_DIR } from '../../common/render/patroni';
import { PGBACKREST_CONFIG_DIR, PGBACKREST_LOCK_PATH, PGBACKREST_LOG_PATH, REPOSITORY_CIPHER, archiveCommand } from '../../common/render/pgbackrest';
import { TEST_RUN, removeLeftoverTestClusters, tempPaths, testClusterName } from '../helpers/integration';
import { listKeys, s3Request } from '../helpers/s3-client';
import { s3ServerSkipReason, startS3Server, type S3Server } from '../helpers/s3-server';

const skip = s3ServerSkipReason();
const docker = new Docker();
const owner = testClusterName('repo');
const pg = containerName(owner, 'pg');
const STANZA = 'demo';
const PREFIX = 'clusters/demo';
const CA_FILE = `${PGBACKREST_CONFIG_DIR}/s3-ca.crt`;
const OTHER_CA_FILE = `${PGBACKREST_CONFIG_DIR}/other-ca.crt`;
/** The postgres image's user (docker/postgres/Dockerfile). */
const POSTGRES_UID = 999;
const cipherPass = crypto.randomBytes(24).toString('base64url');
let s3: S3Server;
/** The test's DBAAS_HOME (its CAs); made in `before`, so a skipped run leaves nothing behind. */
let paths: Paths;

function pgbackrestConfig(s: S3Server): string {
  return [
    '[global]',
    'repo1-type=s3',
    `repo1-s3-bucket=${s.bucket}`,
    `repo1-s3-endpoint=${s.endpoint}`,
    `repo1-s3-region=${s.region}`,
    `repo1-s3-key=${s.credentials.accessKey}`,
    `repo1-s3-key-secret=${s.credentials.secretKey}`,
    'repo1-s3-uri-style=path',
    `repo1-storage-ca-file=${CA_FILE}`,
    `repo1-path=/${PREFIX}`,
    `repo1-cipher-type=${REPOSITORY_CIPHER}`,
    `repo1-cipher-pass=${cipherPass}`,
    `log-path=${PGBACKREST_LOG_PATH}`,
    `lock-path=${PGBACKREST_LOCK_PATH}`,
    'start-fast=y',
    'compress-type=lz4',
    `[${STANZA}]`,
    `pg1-path=${DATA_DIR}`,
    `pg1-socket-path=${SOCKET_DIR}`,
    '',
  ].join('\n');
}

const postgresConf = [
  "listen_addresses = ''",
  `unix_socket_directories = '${SOCKET_DIR}'`,
  'archive_mode = on',
  `archive_command = '${archiveCommand(STANZA)}'`,
  '',
].join('\n');

const pgFile = (name: string, content: string, mode: number): FileToPut => ({ dir: PGBACKREST_CONFIG_DIR, name, content, mode, uid: POSTGRES_UID, gid: POSTGRES_UID });

async function inPg(cmd: string[], stdin?: string): Promise<ExecResult> {
  return execIn(docker, pg, cmd, stdin);
}

async function ok(cmd: string[], stdin?: string): Promise<string> {
  const r = await inPg(cmd, stdin);
  assert.equal(r.exitCode, 0, `${cmd.join(' ')}:\n${r.output}`);
  return r.output;
}

/** A plain PostgreSQL 15 archiving to the S3 repository, no Patroni. */
async function startPostgres(network: string): Promise<void> {
  const l = { ...labels(owner, 'postgres', 'pg'), [LABEL_TEST_RUN]: TEST_RUN };
  await ensureContainerRunning(docker, {
    name: pg,
    labels: l,
    create: { Image: IMAGES.postgres, Cmd: ['sleep', 'infinity'], Labels: l, HostConfig: { NetworkMode: network } },
    files: [pgFile('pgbackrest.conf', pgbackrestConfig(s3), 0o600), pgFile('s3-ca.crt', s3.caCertPem, 0o644)],
  });
  await ok([`${PG_BIN}/initdb`, '-D', DATA_DIR, '-U', 'postgres', '--auth=trust']);
  await ok(['sh', '-c', `cat >> ${DATA_DIR}/postgresql.conf`], postgresConf);
  await ok([`${PG_BIN}/pg_ctl`, '-D', DATA_DIR, '-l', `${DATA_DIR}/../postgres.log`, '-w', 'start']);
}

// One suite so that, without SeaweedFS, the run says why once.
describe('pgBackRest 2.45 with a repository in SeaweedFS S3', { skip }, () => {
  before(async () => {
    paths = tempPaths();
    await removeLeftoverTestClusters(docker);
    await ensureNetwork(docker, owner, { ...labels(owner, 'network'), [LABEL_TEST_RUN]: TEST_RUN });
    s3 = await startS3Server(docker, paths, { owner, network: networkName(owner) });
    await startPostgres(networkName(owner));
  });

  after(async () => {
    await removeClusterResources(docker, owner, { data: false, backups: false }, 1);
    fs.rmSync(paths.home, { recursive: true, force: true });
  });

  test('pgBackRest keeps a stanza in the S3 bucket: stanza-create, check (WAL archived to S3), full backup, info lists it', async () => {
    await ok(['pgbackrest', `--stanza=${STANZA}`, 'stanza-create']);
    await ok(['pgbackrest', `--stanza=${STANZA}`, 'check']);
    await ok(['pgbackrest', `--stanza=${STANZA}`, '--type=full', 'backup']);
    const [info] = JSON.parse(await ok(['pgbackrest', `--stanza=${STANZA}`, '--output=json', 'info'])) as {
      name: string;
      status: { code: number; message: string };
      backup: { label: string; type: string; archive: { start: string; stop: string } }[];
      archive: { min: string; max: string }[];
    }[];
    assert.equal(info.name, STANZA);
    assert.equal(info.status.code, 0, info.status.message);
    assert.equal(info.backup.length, 1);
    assert.equal(info.backup[0].type, 'full');
    assert.ok(info.archive[0]?.min && info.archive[0].max >= info.backup[0].archive.stop, JSON.stringify(info.archive));
  });

  test('the bucket holds the encrypted stanza under the prefix, and refuses requests without valid credentials', async () => {
    const keys = await listKeys(s3.api, s3.credentials, s3.bucket, `${PREFIX}/`);
    for (const k of [`${PREFIX}/backup/${STANZA}/backup.info`, `${PREFIX}/archive/${STANZA}/archive.info`]) assert.ok(keys.includes(k), `${k} not in ${keys.length} keys`);
    assert.ok(keys.some((k) => /\/backup\/demo\/\d{8}-\d{6}F\/backup\.manifest$/.test(k)), 'a full backup manifest');
    assert.ok(keys.some((k) => /\/archive\/demo\/15-1\/0000000100000000\/0000000100000000000000[0-9A-F]{2}-[0-9a-f]{40}\.lz4$/.test(k)), 'an archived WAL segment');
    // Nothing outside the prefix: the stanza lives where repo1-path says.
    assert.deepEqual((await listKeys(s3.api, s3.credentials, s3.bucket, '')).sort(), [...keys].sort());
    const backupInfo = await s3Request(s3.api, s3.credentials, 'GET', `/${s3.bucket}/${PREFIX}/backup/${STANZA}/backup.info`);
    assert.equal(backupInfo.status, 200);
    assert.equal(backupInfo.body.subarray(0, 8).toString('latin1'), 'Salted__', 'backup.info is encrypted (OpenSSL salted format)');
    assert.ok(!backupInfo.body.includes('[backup:current]'));

    const anonymous = await s3Request(s3.api, undefined, 'GET', `/${s3.bucket}`, { 'list-type': '2' });
    assert.equal(anonymous.status, 403, anonymous.body.toString('utf8'));
    const wrongSecret = await s3Request(s3.api, { ...s3.credentials, secretKey: `${s3.credentials.secretKey}x` }, 'GET', `/${s3.bucket}`, { 'list-type': '2' });
    assert.equal(wrongSecret.status, 403, wrongSecret.body.toString('utf8'));
    // The client identity is limited to its bucket.
    const otherBucket = await s3Request(s3.api, s3.credentials, 'PUT', '/another-bucket');
    assert.equal(otherBucket.status, 403, otherBucket.body.toString('utf8'));

    // The keys went through files only: not on a command line, not in an environment.
    for (const c of [s3.container, pg]) {
      const i = await docker.getContainer(c).inspect();
      const visible = JSON.stringify([i.Config.Cmd, i.Config.Entrypoint, i.Config.Env, i.Args, i.Path]);
      assert.ok(!visible.includes(s3.credentials.secretKey) && !visible.includes(cipherPass), `${c} shows a secret in docker inspect`);
    }
  });

  test('pgBackRest verifies the S3 server: a certificate not signed by the configured CA is refused', async () => {
    await ensureClusterCa(paths, `${owner}-other`);
    await docker.getContainer(pg).putArchive(await tarOf(pgFile('other-ca.crt', readCaCert(paths, `${owner}-other`), 0o644)), { path: PGBACKREST_CONFIG_DIR });
    // pgBackRest retries a failed TLS connection until io-timeout (60 s by default).
    const refused = await inPg(['pgbackrest', `--stanza=${STANZA}`, `--repo1-storage-ca-file=${OTHER_CA_FILE}`, '--io-timeout=5', 'repo-ls']);
    assert.notEqual(refused.exitCode, 0, refused.output);
    assert.match(refused.output, /unable to verify certificate presented by '[^']+:8333'/);
    // The same command with the right CA works: the refusal was the certificate, nothing else.
    await ok(['pgbackrest', `--stanza=${STANZA}`, 'repo-ls']);
  });
});
