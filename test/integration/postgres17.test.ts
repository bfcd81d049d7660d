/**
 * PostgreSQL 17 beside 15: `cluster create --version 17` runs the trixie image (PostgreSQL 17,
 * Patroni 4.0.7, pgBackRest 2.55.1) with the same code paths as 15. One cluster shared by the
 * file: its version shown by `cluster status`, a row written through rw read back through ro on
 * a replica, a switchover, a backup onto the repository host (its stanza served by pgBackRest
 * 2.55, beside the 15 clusters' 2.45), a restore into a new 17 cluster, and a delete that leaves
 * nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterStatus } from '../../client/cluster-info';
import type { StanzaSummary } from '../../common/backup';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const C = testClusterName('pg17');
const R = testClusterName('pg17r');
let it: IntegrationEnv;
let env: TestWorkflowEnvironment;
let cli: NodeJS.ProcessEnv;

before(async () => {
  it = await startIntegration(docker);
  env = it.env;
  cli = childEnv(env, it.paths);
});

after(async () => {
  await it?.stop([C, R]);
});

const status = async (): Promise<ClusterStatus> => {
  const r = await runCli(['cluster', 'status', C, '--json'], cli);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('bad --version: one line, exit 2, nothing made', async () => {
  for (const [args, re] of [
    [['--version', '16'], /--version must be one of 15, 17, got "16"/],
    [['--version', 'latest'], /--version must be one of 15, 17/],
  ] as const) {
    const r = await runCli(['cluster', 'create', C, ...args], cli);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`dbaas.cluster=${C}`] } }), []);
});

test('create --version 17: PostgreSQL 17 on every member, status says so, rw writes and ro reads on a replica', async () => {
  const created = await runCli(['cluster', 'create', C, '--version', '17', '--replicas', '1', '--profile', 'fast'], cli);
  assert.equal(created.code, 0, created.stderr + created.stdout);
  const s = await status();
  assert.equal(s.version, 17);
  assert.equal(s.members.length, 2);
  // Patroni 4 says "streaming" for a replica that replays; dbaas reports PostgreSQL's state on both versions.
  assert.ok(s.members.every((m) => m.state === 'running'), JSON.stringify(s.members));
  const text = await runCli(['cluster', 'status', C], cli);
  assert.match(text.stdout, /PostgreSQL 17/);
  const [v] = await queryCluster<{ v: string }>(cli, C, 'select current_setting(\'server_version_num\') as v', ['--superuser']);
  assert.match(v.v, /^17\d{4}$/);
  await queryCluster(cli, C, 'create table t17 (id int primary key); insert into t17 values (1), (2)', ['--superuser']);
  let read: { n: string; r: boolean }[] = [];
  for (let i = 0; i < 40; i++) {
    read = await queryCluster<{ n: string; r: boolean }>(cli, C, 'select count(*)::text as n, pg_is_in_recovery() as r from t17', ['--superuser', '--ro']).catch(() => []);
    if (read[0]?.n === '2') break;
    await sleep(250);
  }
  assert.deepEqual(read, [{ n: '2', r: true }], 'both rows, read on a replica through ro');
});

test('switchover on 17: the replica leads, the old leader follows, rw writes on the new leader', async () => {
  const before = await status();
  const to = before.members.find((m) => m.name !== before.leader)!.name;
  const r = await runCli(['switchover', C, '--to', to], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  let after = await status();
  for (let i = 0; i < 60 && !(after.leader === to && after.members.every((m) => m.state === 'running')); i++) {
    await sleep(500);
    after = await status();
  }
  assert.equal(after.leader, to);
  assert.ok(after.members.every((m) => m.state === 'running'), JSON.stringify(after.members));
  await queryCluster(cli, C, 'insert into t17 values (3)', ['--superuser']);
});

test('backup on 17: onto the repository host, root running its pgBackRest 2.55 there, listed', async () => {
  const r = await runCli(['backup', 'run', C], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const list = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.equal(list.backups.length, 1, JSON.stringify(list));
  assert.match(list.repository ?? '', /^repository host /);
  assert.equal(list.backups[0]!.pgVersion, 17);
});

test('restore of a 17 cluster: a new PostgreSQL 17 cluster from its backups on the repository host with every row', async () => {
  const r = await runCli(['restore', C, '--into', R, '--latest', '--replicas', '0', '--profile', 'fast'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = JSON.parse((await runCli(['cluster', 'status', R, '--json'], cli)).stdout) as ClusterStatus;
  assert.equal(s.version, 17);
  const [n] = await queryCluster<{ n: string }>(cli, R, 'select count(*)::text as n from t17', ['--superuser']);
  assert.equal(n!.n, '3', 'the rows written before and after the switchover');
  const gone = await runCli(['cluster', 'delete', R, '--yes', '--purge-backups'], cli);
  assert.equal(gone.code, 0, gone.stderr + gone.stdout);
});

test('delete of a 17 cluster leaves no container, volume or network', async () => {
  const r = await runCli(['cluster', 'delete', C, '--yes', '--purge-backups'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const f = { label: [`dbaas.cluster=${C}`] };
  assert.deepEqual(await docker.listContainers({ all: true, filters: f }), []);
  assert.deepEqual((await docker.listVolumes({ filters: f })).Volumes ?? [], []);
  assert.deepEqual(await docker.listNetworks({ filters: f }), []);
});
