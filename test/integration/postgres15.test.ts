/**
 * The PostgreSQL 15 lane. New clusters run 17 (the trixie image: Patroni 4.0.7, pgBackRest
 * 2.55.1) and so do most integration files; `cluster create --version 15` runs the bookworm image
 * (Patroni 3.0.2, pgBackRest 2.45) with the same code paths. The 15 lane is this file, hosts.test
 * (spread, failover and healing across hosts, S3 backups), crash.test (SIGKILLs during create,
 * backup and restore) and upgrade.test (which starts on 15). One cluster shared by the file: its
 * version shown by `cluster status`, a row written through rw read back through ro on a replica,
 * a switchover, a backup onto the repository host (its stanza served by pgBackRest 2.45, beside
 * the 17 clusters' 2.55), a restore into a new 15 cluster, and a delete that leaves nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterStatus } from '../../client/cluster-info';
import type { StanzaSummary } from '../../common/backup';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const C = testClusterName('pg15');
const R = testClusterName('pg15r');
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

test('create --version 15: PostgreSQL 15 on every member, status says so, rw writes and ro reads on a replica', async () => {
  const created = await runCli(['cluster', 'create', C, '--version', '15', '--replicas', '1', '--profile', 'fast'], cli);
  assert.equal(created.code, 0, created.stderr + created.stdout);
  const s = await status();
  assert.equal(s.version, 15);
  assert.equal(s.members.length, 2);
  // Patroni 3.0.2 says "running" for a replica that replays, Patroni 4 "streaming"; dbaas reports PostgreSQL's state on both versions.
  assert.ok(s.members.every((m) => m.state === 'running'), JSON.stringify(s.members));
  const text = await runCli(['cluster', 'status', C], cli);
  assert.match(text.stdout, /PostgreSQL 15/);
  const [v] = await queryCluster<{ v: string }>(cli, C, 'select current_setting(\'server_version_num\') as v', ['--superuser']);
  assert.match(v.v, /^15\d{4}$/);
  await queryCluster(cli, C, 'create table t15 (id int primary key); insert into t15 values (1), (2)', ['--superuser']);
  let read: { n: string; r: boolean }[] = [];
  for (let i = 0; i < 40; i++) {
    read = await queryCluster<{ n: string; r: boolean }>(cli, C, 'select count(*)::text as n, pg_is_in_recovery() as r from t15', ['--superuser', '--ro']).catch(() => []);
    if (read[0]?.n === '2') break;
    await sleep(250);
  }
  assert.deepEqual(read, [{ n: '2', r: true }], 'both rows, read on a replica through ro');
});

test('switchover on 15: the replica leads, the old leader follows, rw writes on the new leader', async () => {
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
  await queryCluster(cli, C, 'insert into t15 values (3)', ['--superuser']);
});

test('backup on 15: onto the repository host, listed as a PostgreSQL 15 backup', async () => {
  const r = await runCli(['backup', 'run', C], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const list = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.equal(list.backups.length, 1, JSON.stringify(list));
  assert.match(list.repository ?? '', /^repository host /);
  assert.equal(list.backups[0]!.pgVersion, 15);
});

test('restore of a 15 cluster: a new PostgreSQL 15 cluster from its backups on the repository host with every row', async () => {
  const r = await runCli(['restore', C, '--into', R, '--latest', '--replicas', '0', '--profile', 'fast'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = JSON.parse((await runCli(['cluster', 'status', R, '--json'], cli)).stdout) as ClusterStatus;
  assert.equal(s.version, 15);
  const [n] = await queryCluster<{ n: string }>(cli, R, 'select count(*)::text as n from t15', ['--superuser']);
  assert.equal(n!.n, '3', 'the rows written before and after the switchover');
  const gone = await runCli(['cluster', 'delete', R, '--yes', '--purge-backups'], cli);
  assert.equal(gone.code, 0, gone.stderr + gone.stdout);
});

test('delete of a 15 cluster leaves no container, volume or network', async () => {
  const r = await runCli(['cluster', 'delete', C, '--yes', '--purge-backups'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const f = { label: [`dbaas.cluster=${C}`] };
  assert.deepEqual(await docker.listContainers({ all: true, filters: f }), []);
  assert.deepEqual((await docker.listVolumes({ filters: f })).Volumes ?? [], []);
  assert.deepEqual(await docker.listNetworks({ filters: f }), []);
});
