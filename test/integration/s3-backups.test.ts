/**
 * A cluster whose pgBackRest repository is an S3 bucket: SeaweedFS on this machine, which the
 * members reach through the Docker host as host.docker.internal, as they would reach an S3
 * service outside Docker. Made through the CLI with --backup-to s3://BUCKET/PREFIX: no member
 * mounts a repository volume, the stanza and its WAL are in the bucket under the prefix; a
 * backup is listed with its s3:// repository, a restore to time T has exactly the rows at T (into
 * a cluster whose own repository is in the bucket too); after a switchover the next backup and
 * the WAL archive carry on with no missing segment; verify passes; deleted, its backups stay in the bucket and are listed; purged, the bucket holds
 * nothing of it. Bad S3 input: one line, exit 2, nothing made.
 */
import { after, before, describe, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Paths } from '../../common/paths';
import type { StanzaSummary } from '../../common/backup';
import { LABEL_CLUSTER, LABEL_MEMBER, LABEL_ROLE } from '../../common/labels';
import { repositoryVolumeName, volumeName } from '../../common/resource-names';
import { clusterFootprint } from '../../activities/cluster';
import { execIn } from '../../activities/docker';
import { readBackupPassphrase } from '../../activities/backup-passphrase';
import { clusterSecretsExist } from '../../activities/secrets';
import { clusterNames } from '../../client/cluster-info';
import { historyText } from '../helpers/history';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type CliResult, type IntegrationEnv } from '../helpers/integration';
import { listKeys, s3Request } from '../helpers/s3-client';
import { ensureClusterCa, readCaCert } from '../../activities/cluster-tls';
import { removeS3ClientFiles, writeS3ClientFiles, type S3ClientFiles } from '../helpers/s3-files';
import { s3ServerSkipReason, startS3ServerOnDockerHost, stopS3Server, type DockerHostS3Server } from '../helpers/s3-server';

const skip = s3ServerSkipReason();
const docker = new Docker();
const C = testClusterName('s3');
/** The cluster restored from C's backups to time T. */
const R = testClusterName('s3pitr');
/** Made with --no-backups, then given an S3 repository by `backup enable`. */
const E = testClusterName('s3en');
/** Owner of the S3 server's container and network. */
const S3_OWNER = testClusterName('s3srv');
const PREFIX = 'clusters/prod';
const RESTORED_PREFIX = 'clusters/restored';
const ENABLED_PREFIX = 'clusters/enabled';
let it: IntegrationEnv;
let env: TestWorkflowEnvironment;
let paths: Paths;
let s3: DockerHostS3Server;
let files: S3ClientFiles;

type S3StanzaSummary = StanzaSummary & { repository?: string };

/** The test's CLI environment, without any S3 key of the caller's: credentials come from the flags only. */
function cliEnv(): NodeJS.ProcessEnv {
  const e = childEnv(env, paths);
  for (const k of Object.keys(e)) if (k.startsWith('AWS_')) delete e[k];
  return e;
}

const cli = (args: string[]): Promise<CliResult> => runCli(args, cliEnv());

/** The S3 flags of a create, each replaceable or removable (undefined) by a bad-input case. */
function s3Flags(change: Record<string, string | undefined> = {}): string[] {
  const flags: Record<string, string | undefined> = {
    '--backup-to': `s3://${s3.bucket}/${PREFIX}`,
    '--s3-endpoint': `https://${s3.hostEndpoint}`,
    '--s3-region': s3.region,
    '--s3-credentials': files.credentials,
    '--s3-ca': files.ca,
    '--s3-uri-style': 'path',
    ...change,
  };
  return Object.entries(flags).flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
}

const query = <T extends Record<string, unknown>>(cluster: string, text: string): Promise<T[]> => queryCluster<T>(cliEnv(), cluster, text, ['--superuser']);
const ids = async (cluster: string): Promise<number[]> => (await query<{ id: number }>(cluster, 'select id from items order by id')).map((r) => r.id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keysUnder = (prefix: string): Promise<string[]> => listKeys(s3.api, s3.credentials, s3.bucket, prefix);

async function backupList(cluster: string): Promise<S3StanzaSummary> {
  const r = await cli(['backup', 'list', cluster, '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout) as S3StanzaSummary;
}

/** `cluster list --deleted --json`: the fields this test reads. */
async function deletedClusters(): Promise<{ name: string; keptBackups: boolean; backups: number }[]> {
  const r = await cli(['cluster', 'list', '--deleted', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout) as { name: string; keptBackups: boolean; backups: number }[];
}

// One suite so that, without SeaweedFS, the run says why once.
describe('a cluster with its backup repository in S3', { skip }, () => {
  before(async () => {
    it = await startIntegration(docker);
    ({ env, paths } = it);
    s3 = await startS3ServerOnDockerHost(docker, paths, { owner: S3_OWNER });
    files = writeS3ClientFiles(s3);
  });

  after(async () => {
    // Deletes (with --purge-backups) whatever is left of the clusters while the S3 server still answers.
    await it?.stop([R, C, E]);
    if (s3) await stopS3Server(docker, s3);
    removeS3ClientFiles(files);
    if (paths) fs.rmSync(paths.home, { recursive: true, force: true });
  });

  test('bad S3 input: one line, exit 2, nothing of the cluster made (containers, volumes, network, secrets, workflows, objects)', async () => {
    const fresh = testClusterName('s3bad');
    const create = ['cluster', 'create', fresh, '--replicas', '0', '--profile', 'fast'];
    const cases: [string, string[]][] = [
      ['no bucket', [...create, ...s3Flags({ '--backup-to': 's3://' })]],
      ['no region', [...create, ...s3Flags({ '--s3-region': undefined })]],
      ['no credentials: no file and none in the environment', [...create, ...s3Flags({ '--s3-credentials': undefined })]],
      ['a credentials file that does not exist', [...create, ...s3Flags({ '--s3-credentials': '/nonexistent' })]],
      ['--backup-to with --no-backups', [...create, ...s3Flags(), '--no-backups']],
    ];
    for (const [what, args] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${what}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`);
    }
    assert.deepEqual(await clusterFootprint(localInventory(docker), fresh), { containers: 0, networks: 0, volumes: 0 }, 'nothing of the cluster exists in Docker');
    assert.equal(clusterSecretsExist(paths, fresh), false, 'no passwords were generated');
    assert.equal(readBackupPassphrase(paths, fresh), undefined, 'no repository passphrase was generated');
    const started: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `ClusterName = "${fresh}"` })) started.push(wf.workflowId);
    assert.deepEqual(started, [], 'no workflow was started');
    assert.deepEqual((await keysUnder('')).filter((k) => k.includes(fresh)), [], 'nothing was written to the bucket');
  });

  test('an endpoint whose certificate --s3-ca does not sign: the create stops at the repository check with the reason, and nothing of it is left', async () => {
    const fresh = testClusterName('s3ca');
    await ensureClusterCa(paths, `${S3_OWNER}-other`);
    const otherCa = `${files.dir}/other-ca.crt`;
    fs.writeFileSync(otherCa, readCaCert(paths, `${S3_OWNER}-other`));
    const r = await cli(['cluster', 'create', fresh, '--replicas', '0', '--profile', 'fast', ...s3Flags({ '--s3-ca': otherCa })]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /cannot be used: .*unable to verify certificate/);
    assert.match(r.stdout + r.stderr, /✗ create the backup repository/);
    assert.deepEqual(await clusterFootprint(localInventory(docker), fresh), { containers: 0, networks: 0, volumes: 0 });
    assert.equal(clusterSecretsExist(paths, fresh), false, 'its passwords went with the compensation');
    assert.equal(readBackupPassphrase(paths, fresh), undefined, 'so did the repository passphrase');
    assert.ok(!fs.existsSync(`${paths.secrets}/${fresh}.s3.json`), 'and the S3 credentials');
  });

  test(`made with --backup-to s3://BUCKET/${PREFIX}: no member mounts a repository volume (only its data volume); the bucket holds the stanza and archived WAL under the prefix; no S3 key in any container's inspect`, async () => {
    const made = await cli(['cluster', 'create', C, '--replicas', '1', '--profile', 'fast', '--etcd', '1', ...s3Flags()]);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    const members = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${C}`, `${LABEL_ROLE}=postgres`] } });
    assert.equal(members.length, 2, 'the leader and one replica');
    for (const m of members) {
      const member = m.Labels[LABEL_MEMBER];
      const mounts = (await docker.getContainer(m.Id).inspect()).Mounts.map((x) => `${x.Type}:${x.Name ?? x.Source}`);
      assert.deepEqual(mounts, [`volume:${volumeName(C, member)}`], `${member} mounts only its data volume`);
    }
    const volumes = (await docker.listVolumes({ filters: { label: [`${LABEL_CLUSTER}=${C}`] } })).Volumes ?? [];
    assert.deepEqual(volumes.filter((v) => v.Name === repositoryVolumeName(C) || v.Labels?.[LABEL_ROLE] === 'backup').map((v) => v.Name), [], 'no repository volume exists');

    const keys = await keysUnder(`${PREFIX}/`);
    for (const k of [`${PREFIX}/backup/${C}/backup.info`, `${PREFIX}/archive/${C}/archive.info`]) assert.ok(keys.includes(k), `${k} not among ${keys.length} keys`);
    const wal = new RegExp(`^${PREFIX}/archive/${C}/\\d+-\\d+/[0-9A-F]{16}/[0-9A-F]{24}-[0-9a-f]{40}`);
    assert.ok(keys.some((k) => wal.test(k)), `archived WAL under ${PREFIX}/archive/${C}/: ${keys.join(', ')}`);
    assert.deepEqual((await keysUnder('')).filter((k) => !k.startsWith(`${PREFIX}/`)), [], 'nothing outside the prefix');

    const all = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${C}`] } });
    for (const c of all) {
      const inspect = JSON.stringify(await docker.getContainer(c.Id).inspect());
      assert.ok(!inspect.includes(s3.credentials.secretKey), `${c.Names[0]} shows the S3 secret key in docker inspect`);
    }
  });

  test('the stanza in the bucket is encrypted: backup.info starts with OpenSSL\'s Salted__', async () => {
    const info = await s3Request(s3.api, s3.credentials, 'GET', `/${s3.bucket}/${PREFIX}/backup/${C}/backup.info`);
    assert.equal(info.status, 200);
    assert.equal(info.body.subarray(0, 8).toString('latin1'), 'Salted__');
    assert.ok(!info.body.includes('[backup:current]'));
  });

  test('rows, a backup read from the standby and listed with its s3:// repository, more rows: a restore to time T has exactly the rows at T, and its own repository in the bucket', async () => {
    await query(C, "create table items (id int primary key, grp text); insert into items select g, 'A' from generate_series(1, 100) g");
    const run = await cli(['backup', 'run', C, '--type', 'full']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    // From the standby (the default when one can serve): pgBackRest's log names the host each file came from.
    assert.match(run.stdout, /run the full backup \(on the leader pg-0, data files from pg-1\)/);
    const log = await execIn(docker, `dbaas-${C}-pg-0`, ['cat', `/var/log/pgbackrest/${C}-backup.log`]);
    const fromStandby = log.output.match(new RegExp(`backup file dbaas-${C}-pg-1:`, 'g'))?.length ?? 0;
    assert.ok(fromStandby > 100, `files copied from the standby: ${fromStandby}`);
    assert.doesNotMatch(log.output, /backup file \/var\/lib\/dbaas\/pgdata\/base\//, 'no table file was read on the leader');
    const list = await backupList(C);
    assert.equal(list.backups.length, 1, JSON.stringify(list));
    assert.equal(list.backups[0].type, 'full');
    assert.ok(list.repository?.startsWith(`s3://${s3.bucket}/${PREFIX}`), `repository: ${list.repository}`);
    const manifest = new RegExp(`^${PREFIX}/backup/${C}/${list.backups[0].label}/backup\\.manifest$`);
    assert.ok((await keysUnder(`${PREFIX}/backup/${C}/`)).some((k) => manifest.test(k)), 'the backup is in the bucket');

    await sleep(1000);
    const T = (await query<{ t: string }>(C, "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t"))[0].t;
    await sleep(2000);
    await query(C, "insert into items select g, 'B' from generate_series(101, 150) g; delete from items where id = 1");
    try {
      // The restored cluster keeps its own repository in the same bucket, under another prefix.
      const r = await cli(['restore', C, '--into', R, '--to-time', T, '--replicas', '0', '--profile', 'fast', '--wait-for-backup', ...s3Flags({ '--backup-to': `s3://${s3.bucket}/${RESTORED_PREFIX}` })]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.deepEqual(await ids(R), Array.from({ length: 100 }, (_, i) => i + 1), 'exactly the rows at T');
      const restored = await backupList(R);
      assert.ok(restored.repository?.startsWith(`s3://${s3.bucket}/${RESTORED_PREFIX}`), `repository: ${restored.repository}`);
      assert.equal(restored.backups.length, 1, 'its first backup is in its own S3 repository');
    } finally {
      await cli(['cluster', 'delete', R, '--purge-backups', '--yes']);
    }
    assert.deepEqual(await keysUnder(`${RESTORED_PREFIX}/backup/${R}/`), [], 'purged with the restored cluster');
    const source = await ids(C);
    assert.equal(source.length, 149);
    assert.ok(!source.includes(1) && source.includes(150), 'the source is untouched');
  });

  test('a switchover between two backups: the next backup and the WAL archive carry on, every segment from the first backup to the second is in the bucket', async () => {
    const before = (await backupList(C)).backups;
    const sw = await cli(['switchover', C, '--to', 'pg-1']);
    assert.equal(sw.code, 0, sw.stderr + sw.stdout);
    await query(C, "insert into items select g, 'C' from generate_series(151, 160) g");
    const run = await cli(['backup', 'run', C, '--type', 'incr']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const after = (await backupList(C)).backups;
    assert.equal(after.length, before.length + 1);
    const [first, second] = [before[before.length - 1], after[after.length - 1]];
    assert.equal(second.prior, first.label, 'the incr builds on the backup taken before the switchover');
    assert.notEqual(second.walStop.slice(0, 8), first.walStart.slice(0, 8), 'the second backup is on the new timeline');
    // A segment's place in the WAL stream, whatever its timeline: log * 256 + segment (16 MB segments).
    const position = (name: string): number => parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);
    const archived = new Set((await keysUnder(`${PREFIX}/archive/${C}/`))
      .map((k) => /\/([0-9A-F]{24})-[0-9a-f]{40}/.exec(k)?.[1]).filter((n): n is string => n !== undefined).map(position));
    const missing: number[] = [];
    for (let p = position(first.walStart); p <= position(second.walStop); p++) if (!archived.has(p)) missing.push(p);
    assert.deepEqual(missing, [], `WAL positions missing between ${first.walStart} and ${second.walStop}`);
  });

  test('backup verify: a restore drill from the bucket passes, nothing left', async () => {
    const r = await cli(['backup', 'verify', C]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /verified: restored in [\d.]+ s/);
    assert.deepEqual((await clusterNames(localInventory(docker))).filter((n) => n.startsWith('vfy-')), [], 'the scratch cluster is gone');
  });

  test('cluster delete keeps the backups in the bucket: listed on the deleted cluster and by cluster list --deleted', async () => {
    const backupsAtDelete = (await backupList(C)).backups.length;
    const del = await cli(['cluster', 'delete', C, '--yes']);
    assert.equal(del.code, 0, del.stderr + del.stdout);
    const left = await clusterFootprint(localInventory(docker), C);
    assert.deepEqual([left.containers, left.networks], [0, 0], 'no container or network of the cluster is left');
    assert.ok(!(await clusterNames(localInventory(docker))).includes(C), 'not listed as a cluster');
    assert.ok((await keysUnder(`${PREFIX}/backup/${C}/`)).includes(`${PREFIX}/backup/${C}/backup.info`), 'the stanza is still in the bucket');

    const kept = await backupList(C);
    assert.equal(kept.backups.length, backupsAtDelete, 'its backups are listed');
    assert.ok(kept.repository?.startsWith(`s3://${s3.bucket}/${PREFIX}`), `repository: ${kept.repository}`);
    const deleted = (await deletedClusters()).find((d) => d.name === C);
    assert.ok(deleted, 'cluster list --deleted shows it');
    assert.deepEqual([deleted.keptBackups, deleted.backups], [true, backupsAtDelete]);
  });

  test('backup purge removes the stanza from the bucket: no object of it remains, no longer a deleted cluster', async () => {
    const purge = await cli(['backup', 'purge', C, '--yes']);
    assert.equal(purge.code, 0, purge.stderr + purge.stdout);
    assert.deepEqual(await keysUnder(`${PREFIX}/backup/${C}/`), [], 'no backup object remains');
    assert.deepEqual(await keysUnder(`${PREFIX}/archive/${C}/`), [], 'no archived WAL remains');
    assert.equal(readBackupPassphrase(paths, C), undefined, 'the passphrase went with the repository');
    assert.ok(!(await deletedClusters()).some((d) => d.name === C), 'purged: no longer a deleted cluster with kept backups');
    assert.deepEqual(await clusterFootprint(localInventory(docker), C), { containers: 0, networks: 0, volumes: 0 });
  });

  test('backup enable --backup-to gives a cluster made with --no-backups its repository in the bucket; refused where one exists', async () => {
    const made = await cli(['cluster', 'create', E, '--replicas', '0', '--profile', 'fast', '--no-backups']);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    try {
      const enable = await cli(['backup', 'enable', E, ...s3Flags({ '--backup-to': `s3://${s3.bucket}/${ENABLED_PREFIX}` })]);
      assert.equal(enable.code, 0, enable.stderr + enable.stdout);
      const pg = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${E}`, `${LABEL_ROLE}=postgres`] } });
      assert.deepEqual(pg.map((c) => c.Mounts.length), [1], 'the re-created member mounts only its data volume');
      const run = await cli(['backup', 'run', E]);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const list = await backupList(E);
      assert.equal(list.backups.length, 1);
      assert.ok(list.repository?.startsWith(`s3://${s3.bucket}/${ENABLED_PREFIX}`), `repository: ${list.repository}`);
      const again = await cli(['backup', 'enable', E, ...s3Flags({ '--backup-to': `s3://${s3.bucket}/elsewhere` })]);
      assert.equal(again.code, 2, again.stderr + again.stdout);
      assert.match(again.stderr, /already has a backup repository/);
    } finally {
      await cli(['cluster', 'delete', E, '--purge-backups', '--yes']);
    }
    assert.deepEqual(await keysUnder(`${ENABLED_PREFIX}/`), [], 'purged with the cluster');
  });

  test('the S3 key is in no workflow history or description of the cluster and its restore (it never enters Temporal)', async () => {
    let read = 0;
    for (const cluster of [C, R]) {
      for await (const wf of env.client.workflow.list({ query: `ClusterName = "${cluster}"` })) {
        const handle = env.client.workflow.getHandle(wf.workflowId, wf.runId);
        const text = (await historyText(handle)) + JSON.stringify(await handle.describe(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
        read++;
        for (const secret of [s3.credentials.accessKey, s3.credentials.secretKey]) assert.ok(!text.includes(secret), `an S3 key found in ${wf.workflowId}`);
      }
    }
    assert.ok(read >= 5, `create, backup, verify, delete and purge at least were read (${read})`);
  });
});
