/**
 * `dbaas upgrade NAME --to 17 --method in-place` on one PostgreSQL 15 cluster shared by the file
 * (a leader and a replica, backups on the repository host): bad input changes nothing;
 * pg_upgrade --check refusing the data (a reg* column) leaves the cluster running on 15 with its
 * data; blue-green refuses what logical replication cannot carry, and on a clean cluster builds
 * the next generation on 17, copies and catches up (a worker SIGKILLed during the catch-up), then,
 * its cutover not built yet, removes it leaving no slot, publication, member or volume behind;
 * then the in-place upgrade, with the worker SIGKILLed while pg_upgrade --link runs: it completes
 * once, with the same rows in two databases, the sequence going on, the index used, PostgreSQL 17
 * on every member, the replica streaming, the same ports, and a backup on each side (the stanza's
 * server moved from pgBackRest 2.45 to 2.55); the way back, a restore to a moment before the
 * upgrade, runs PostgreSQL 15 with that moment's rows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Docker from 'dockerode';
import { Client } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterStatus } from '../../client/cluster-info';
import type { StanzaSummary } from '../../common/backup';
import type { Paths } from '../../common/paths';
import { upgradeWorkflowIds } from '../../common/workflow-ids';
import { execIn } from '../../activities/docker';
import { helperName } from '../../activities/upgrade/helper';
import { removeRepositoryHost } from '../../activities/repository-host/host';
import { startTestTemporal } from '../helpers/temporal';
import { waitForExit } from '../helpers/deadline';
import { highestAttempt, waitForActivityStarted } from '../helpers/history';
import { childEnv, queryCluster, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, testClusterName } from '../helpers/integration';

const docker = new Docker();
const C = testClusterName('upg');
const BACK = testClusterName('upgb');
/** A moment after the last write on 15, before the upgrade ('YYYY-MM-DD HH:MM:SS+00'). */
let beforeUpgradeAt = '';
let env: TestWorkflowEnvironment;
let paths: Paths;
let cli: NodeJS.ProcessEnv;
/** Child-process workers: the upgrade test SIGKILLs one. */
const workers: ChildProcess[] = [];

before(async () => {
  await removeLeftoverTestClusters(docker);
  env = await startTestTemporal();
  paths = tempPaths();
  cli = childEnv(env, paths);
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-1.log')));
});

after(async () => {
  const last = workers[workers.length - 1];
  if (last && last.exitCode === null && last.signalCode === null) {
    for (const c of [BACK, C]) await runCli(['cluster', 'delete', c, '--purge-backups', '--yes'], cli);
  }
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await removeRepositoryHost(docker, paths);
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const status = async (): Promise<ClusterStatus> => {
  const r = await runCli(['cluster', 'status', C, '--json'], cli);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus;
};

/** A query on another database of the cluster, as its superuser through rw. */
async function queryDb<T extends Record<string, unknown>>(db: string, text: string): Promise<T[]> {
  const uri = new URL((await runCli(['connect', C, '--superuser'], cli)).stdout.trim());
  uri.pathname = `/${db}`;
  const c = new Client({ connectionString: uri.toString() });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

/** server_version_num as each member's own PostgreSQL answers (over its socket, in its container). */
async function memberVersions(): Promise<Map<string, string>> {
  const cs = await docker.listContainers({ filters: { label: [`dbaas.cluster=${C}`, 'dbaas.role=postgres'] } });
  const out = new Map<string, string>();
  for (const c of cs) {
    const r = await execIn(docker, c.Id, ['psql', '-h', '/var/run/postgresql', '-U', 'postgres', '-Atc', 'show server_version_num']);
    out.set(c.Labels['dbaas.member']!, r.output.trim());
  }
  return out;
}

const superuser = (text: string) => queryCluster(cli, C, text, ['--superuser']);

test('a PostgreSQL 15 cluster with rows in two databases, a sequence and an index', async () => {
  const r = await runCli(['cluster', 'create', C, '--version', '15', '--replicas', '1'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  await superuser('create table orders (id bigserial primary key, item text not null); create index orders_item on orders (item)');
  await superuser('insert into orders (item) select \'item-\' || g from generate_series(1, 5000) g');
  await superuser('create database billing');
  await queryDb('billing', 'create table invoices (id int primary key, total numeric); insert into invoices select g, g * 1.5 from generate_series(1, 300) g');
  assert.equal((await status()).version, 15);
  const none = await runCli(['upgrade', 'status', C], cli);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout.trim(), `${C}: no upgrade has run; it runs PostgreSQL 15`);
});

test('bad upgrade input: one line, exit 2, the cluster untouched', async () => {
  const before = await docker.listContainers({ filters: { label: [`dbaas.cluster=${C}`] } });
  for (const [args, re] of [
    [['--to', '16', '--method', 'in-place'], /--to must be one of 15, 17, got "16"/],
    [['--to', '15', '--method', 'in-place'], new RegExp(`cluster ${C} already runs PostgreSQL 15`)],
    [['--to', '17'], /--method is required while blue-green is not complete/],
    [['--to', '17', '--method', 'sideways'], /--method must be one of in-place, blue-green/],
  ] as const) {
    const r = await runCli(['upgrade', C, ...args], cli);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const after = await docker.listContainers({ filters: { label: [`dbaas.cluster=${C}`] } });
  assert.deepEqual(after.map((c) => c.Id).sort(), before.map((c) => c.Id).sort());
});

test('blue-green refuses a table without a primary key and an unlogged table, naming them by database; a clean cluster gets a generation on 17, copied and caught up (the worker SIGKILLed meanwhile), then removed: nothing left', async () => {
  const before = await docker.listContainers({ filters: { label: [`dbaas.cluster=${C}`] } });
  await queryDb('billing', 'create table audit (at timestamptz, what text); create unlogged table scratch (id int primary key)');
  const r = await runCli(['upgrade', C, '--to', '17', '--method', 'blue-green'], cli);
  assert.equal(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /database billing: tables without a primary key or replica identity \(audit\), unlogged tables \(scratch\)/);
  assert.doesNotMatch(r.stderr, /database postgres:/, 'orders has a primary key');
  await queryDb('billing', 'drop table audit, scratch');
  // Nothing blocks now: the next generation is built on 17, fed and caught up, then (the cutover
  // not built yet) removed again, as a rollback before the cutover does.
  // The worker is SIGKILLed while the catch-up is followed: a new one carries the run on, once.
  const upgrading = runCli(['upgrade', C, '--to', '17', '--method', 'blue-green'], cli);
  const handle = env.client.workflow.getHandle(upgradeWorkflowIds.blueGreen(C));
  await waitForActivityStarted(handle, { type: 'logicalCopyProgress' }, 240_000);
  const killed = workers[workers.length - 1]!;
  killed.kill('SIGKILL');
  await waitForExit(killed, 30_000, 'the SIGKILLed worker did not exit');
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-bg.log')));
  const clean = await upgrading;
  assert.equal(clean.code, 2, clean.stderr + clean.stdout);
  const scheduled = (name: string) => ((handle.fetchHistory()).then((h) => (h.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length));
  assert.equal(await scheduled('startLogicalCopy'), 1, 'the subscriptions were asked for once');
  assert.equal(await scheduled('removeLogicalCopy'), 1, 'and taken down once');
  assert.equal(await scheduled('startPostgresMember'), 2, 'one start per new member');
  assert.match(clean.stderr, /the cutover of --method blue-green is not built yet: generation 2 \(pg-2, pg-3\) was built on PostgreSQL 17, copied and caught up, then removed/);
  const st = await runCli(['upgrade', 'status', C, '--json'], cli);
  assert.equal(st.code, 0, st.stderr);
  const u = (JSON.parse(st.stdout) as { upgrade: { method: string; state: string; replicationLagBytes: number | null } }).upgrade;
  assert.equal(u.method, 'blue-green');
  assert.equal(u.state, 'FAILED');
  assert.ok(u.replicationLagBytes !== null && u.replicationLagBytes <= 1024 * 1024, `caught up: ${st.stdout}`);
  const after = await docker.listContainers({ all: true, filters: { label: [`dbaas.cluster=${C}`] } });
  assert.deepEqual(after.map((c) => c.Id).sort(), before.map((c) => c.Id).sort(), 'the new generation\'s containers are gone');
  const volumes = (await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`] } })).Volumes ?? [];
  assert.deepEqual(volumes.filter((v) => /-pg-[23]-data$/.test(v.Name)).map((v) => v.Name), [], 'and their volumes');
  const left = await superuser("select (select count(*) from pg_replication_slots where slot_type = 'logical') as slots, (select count(*) from pg_publication) as pubs");
  assert.deepEqual(left, [{ slots: '0', pubs: '0' }], 'no slot keeps WAL on the old leader, no publication stays');
  assert.equal((await status()).version, 15);
  assert.equal((await superuser('select count(*) as n from orders'))[0]?.n, '5000');
});

test('pg_upgrade --check refuses a reg* column: exit 2 with its reason, the cluster runs on 15 again with its data', async () => {
  await superuser('create table procs (p regproc); insert into procs values (\'now\')');
  const r = await runCli(['upgrade', C, '--to', '17', '--method', 'in-place'], cli);
  assert.equal(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /reg\* data types/);
  let s = await status();
  for (let i = 0; i < 60 && !(s.leader && s.members.every((m) => m.state === 'running')); i++) {
    await sleep(500);
    s = await status();
  }
  assert.equal(s.version, 15);
  assert.ok(s.members.every((m) => m.state === 'running'), JSON.stringify(s.members));
  const [n] = await superuser('select count(*)::int as n from orders');
  assert.equal(n!.n, 5000);
  await superuser('drop table procs');
});

test('upgrade --method in-place: the same rows, sequence and index on PostgreSQL 17 everywhere, same ports, a backup on each side', async () => {
  const before = await status();
  const [seq] = await queryCluster<{ v: number }>(cli, C, 'select last_value::int as v from orders_id_seq', ['--superuser']);
  await sleep(1100);
  beforeUpgradeAt = `${new Date().toISOString().slice(0, 19).replace('T', ' ')}+00`;
  await sleep(1100);
  const upgrading = runCli(['upgrade', C, '--to', '17', '--method', 'in-place'], cli);
  // SIGKILL the worker while the helper runs pg_upgrade --link; a new worker takes the step over.
  const handle = env.client.workflow.getHandle(upgradeWorkflowIds.inPlace(C));
  const link = { type: 'runPgUpgrade', inputIncludes: '"mode":"upgrade"' };
  await waitForActivityStarted(handle, link, 240_000);
  const helper = docker.getContainer(helperName(C, 'pg-0'));
  for (let i = 0; i < 200 && !(await helper.inspect().then((h) => h.State.Running, () => false)); i++) await sleep(50);
  const killed = workers[workers.length - 1]!;
  killed.kill('SIGKILL');
  await waitForExit(killed, 30_000, 'the SIGKILLed worker did not exit');
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-2.log')));
  const r = await upgrading;
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /PostgreSQL 15 → 17/);
  assert.ok((await highestAttempt(handle, link)) >= 2, 'pg_upgrade --link was taken over by the new worker');
  const scheduled = ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runPgUpgrade');
  assert.equal(scheduled.length, 2, 'one --check and one --link: the workflow asked for each once');

  const done = await runCli(['upgrade', 'status', C], cli);
  assert.match(done.stdout, /in-place upgrade PostgreSQL 15 → 17: completed .*the cluster runs PostgreSQL 17/);
  assert.match(done.stdout, /phase (\d+)\/\1: first backup on PostgreSQL 17 \(full\) \(done\)/);
  const after = await status();
  assert.equal(after.version, 17);
  assert.deepEqual(after.endpoints, before.endpoints, 'rw, ro, pooled and stats ports unchanged');
  assert.equal(after.leader, before.leader);
  assert.ok(after.members.every((m) => m.state === 'running'), JSON.stringify(after.members));
  for (const [m, v] of await memberVersions()) assert.match(v, /^17\d{4}$/, `${m} runs ${v}`);

  const [count] = await superuser('select count(*)::int as n, max(id)::int as m from orders');
  assert.deepEqual(count, { n: 5000, m: 5000 });
  const [next] = await queryCluster<{ id: number }>(cli, C, 'insert into orders (item) values (\'after\') returning id::int as id', ['--superuser']);
  assert.ok(next!.id > seq!.v, `the sequence goes on past ${seq!.v}: ${next!.id}`);
  const plan = await superuser('explain select * from orders where item = \'item-42\'');
  assert.match(JSON.stringify(plan), /orders_item/);
  const [billing] = await queryDb<{ n: number; t: string }>('billing', 'select count(*)::int as n, sum(total)::text as t from invoices');
  assert.deepEqual(billing, { n: 300, t: '67725.0' });

  // Written through rw after the upgrade, read back on the re-cloned replica through ro.
  let read: { n: number; r: boolean }[] = [];
  for (let i = 0; i < 40; i++) {
    read = await queryCluster<{ n: number; r: boolean }>(cli, C, 'select count(*)::int as n, pg_is_in_recovery() as r from orders', ['--superuser', '--ro']).catch(() => []);
    if (read[0]?.n === 5001) break;
    await sleep(250);
  }
  assert.deepEqual(read, [{ n: 5001, r: true }]);

  // The backups stay on the repository host, 15's and 17's in one stanza; new ones are 17's.
  const list = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.match(list.repository ?? '', /^repository host /);
  assert.ok(list.backups.length >= 2, JSON.stringify(list.backups));
  assert.deepEqual([...new Set(list.backups.map((b) => b.pgVersion))].sort(), [15, 17], JSON.stringify(list.backups));
});

test('the way back: a restore to a moment before the upgrade is a PostgreSQL 15 cluster with that moment\'s rows', async () => {
  assert.ok(beforeUpgradeAt, 'the upgrade test ran');
  const r = await runCli(['restore', C, '--into', BACK, '--to-time', beforeUpgradeAt, '--replicas', '0', '--profile', 'fast'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = JSON.parse((await runCli(['cluster', 'status', BACK, '--json'], cli)).stdout) as ClusterStatus;
  assert.equal(s.version, 15);
  const [n] = await queryCluster<{ n: number }>(cli, BACK, 'select count(*)::int as n from orders', ['--superuser']);
  assert.equal(n!.n, 5000);
  const gone = await runCli(['cluster', 'delete', BACK, '--yes', '--purge-backups'], cli);
  assert.equal(gone.code, 0, gone.stderr + gone.stdout);
  // Retention counts full backups across majors: the second full on 17 (the default keeps 2) expires 15's, and the way back with them.
  const bk = await runCli(['backup', 'run', C], cli);
  assert.equal(bk.code, 0, bk.stderr + bk.stdout);
  const list = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.deepEqual(list.backups.map((b) => b.pgVersion), [17, 17], JSON.stringify(list.backups));
});
