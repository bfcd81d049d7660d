/**
 * Major upgrades of one PostgreSQL 15 cluster shared by the file (a leader and a replica, backups
 * on the repository host): bad input changes nothing; blue-green refuses what logical replication
 * cannot carry, and on a clean cluster, under a writer through pooled rw, builds the next generation
 * on 17, copies and catches up (a worker SIGKILLed during the catch-up), cuts over (no
 * acknowledged write lost, the sequence going on, the stanza and a full backup on 17), then rolls
 * back with --discard-writes (15 serves, nothing of 17 left); pg_upgrade --check refusing the data
 * (a reg* column) leaves the cluster running on 15 with its data; the in-place upgrade, with the
 * worker SIGKILLed while pg_upgrade --link runs, completes once, with the same rows in two
 * databases, the sequence going on, the index used, PostgreSQL 17 on every member, the replica
 * streaming, the same ports, and a backup on each side (the stanza's server moved from pgBackRest
 * 2.45 to 2.55); the way back, a restore to a moment before the upgrade, runs PostgreSQL 15 with
 * that moment's rows, and goes to 17 blue-green (the default; the worker SIGKILLed inside the
 * cutover) with `upgrade finish`.
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
import { completedCount, highestAttempt, waitForActivityCompleted, waitForActivityStarted } from '../helpers/history';
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
    [['--method', 'in-place'], /--to is required/],
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

/** Inserts through the pooled rw endpoint until stopped; the ids PostgreSQL acknowledged, and what failed. */
function startWriter(uri: string): { stop: () => Promise<{ acked: number[]; errors: string[] }> } {
  const acked: number[] = [];
  const errors: string[] = [];
  let running = true;
  const loop = (async () => {
    let c: Client | null = null;
    while (running) {
      try {
        if (!c) {
          c = new Client({ connectionString: uri, connectionTimeoutMillis: 60_000 });
          c.on('error', () => undefined);
          await c.connect();
        }
        const r = await c.query<{ id: string }>('insert into ticks default values returning id');
        acked.push(Number(r.rows[0]!.id));
      } catch (err) {
        errors.push((err as Error).message);
        await c?.end().catch(() => undefined);
        c = null;
        await sleep(100);
      }
      await sleep(20);
    }
    await c?.end().catch(() => undefined);
  })();
  return { stop: async () => { running = false; await loop; return { acked, errors }; } };
}

test('blue-green refuses what logical replication cannot carry, naming it by database; on a clean cluster, under a writer through pooled rw, it cuts over to 17 (the worker SIGKILLed during the catch-up): no acknowledged write lost, the sequence goes on, the stanza and a full backup on 17; a rollback then serves 15 again, nothing of 17 left', async () => {
  const before = await docker.listContainers({ filters: { label: [`dbaas.cluster=${C}`] } });
  await queryDb('billing', 'create table audit (at timestamptz, what text); create unlogged table scratch (id int primary key)');
  const r = await runCli(['upgrade', C, '--to', '17', '--method', 'blue-green'], cli);
  assert.equal(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /database billing: tables without a primary key or replica identity \(audit\), unlogged tables \(scratch\)/);
  assert.doesNotMatch(r.stderr, /database postgres:/, 'orders has a primary key');
  await queryDb('billing', 'drop table audit, scratch');

  const pooled = (await runCli(['connect', C, '--pooled'], cli)).stdout.trim();
  const app = new Client({ connectionString: pooled });
  await app.connect();
  await app.query('create table ticks (id bigserial primary key, at timestamptz not null default clock_timestamp())');
  await app.end();
  const writer = startWriter(pooled);
  // The worker is SIGKILLed while the catch-up is followed: a new one carries the run on, once.
  const upgrading = runCli(['upgrade', C, '--to', '17', '--method', 'blue-green'], cli);
  const handle = env.client.workflow.getHandle(upgradeWorkflowIds.blueGreen(C));
  await waitForActivityStarted(handle, { type: 'logicalCopyProgress' }, 240_000);
  const killed = workers[workers.length - 1]!;
  killed.kill('SIGKILL');
  await waitForExit(killed, 30_000, 'the SIGKILLed worker did not exit');
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-bg.log')));
  const cut = await upgrading;
  assert.equal(cut.code, 0, cut.stderr + cut.stdout);
  assert.match(cut.stdout, /cut over to PostgreSQL 17; writes were paused [\d.]+ s/);
  console.log(cut.stdout.split('\n').filter((l) => /pause|stop writes|last write|sequences|serve from|resume/.test(l)).join('\n'));
  await sleep(2000);
  const { acked, errors } = await writer.stop();
  const scheduled = (name: string) => ((handle.fetchHistory()).then((h) => (h.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length));
  assert.equal(await scheduled('startLogicalCopy'), 1, 'the subscriptions were asked for once');
  assert.equal(await scheduled('startPostgresMember'), 2, 'one start per new member');

  const st = await runCli(['upgrade', 'status', C, '--json'], cli);
  const u = (JSON.parse(st.stdout) as { upgrade: { method: string; cutOver: boolean; writePauseMs: number | null; awaitingDecision: boolean; backupBefore: { label?: string } | null } }).upgrade;
  assert.deepEqual([u.method, u.cutOver, u.awaitingDecision], ['blue-green', true, true], st.stdout);
  // A full backup of 15 before the cutover: the way back once the 15 members are gone.
  const backedUpBefore = u.backupBefore?.label;
  assert.ok(backedUpBefore, st.stdout);
  assert.match(cut.stdout, new RegExp(`backup before the cutover: ${backedUpBefore} \\(full, PostgreSQL 15`));
  console.log(`blue-green cutover: writes paused ${u.writePauseMs} ms; the writer had ${acked.length} inserts acknowledged, ${errors.length} failed (${[...new Set(errors)].join('; ')})`);
  const s17 = await status();
  assert.equal(s17.version, 17);
  assert.deepEqual(s17.members.map((m) => m.name).sort(), ['pg-2', 'pg-3'], 'generation 2 serves');
  // Every acknowledged insert is on 17, written before the cutover (copied) or after (on 17 itself), once; the sequence went on.
  const c17 = new Client({ connectionString: pooled });
  await c17.connect();
  const ids = (await c17.query<{ id: string }>('select id from ticks order by id')).rows.map((x) => Number(x.id));
  const [after] = (await c17.query<{ id: string }>('insert into ticks default values returning id')).rows;
  await c17.end();
  assert.ok(acked.length > 0);
  const missing = acked.filter((id) => !ids.includes(id));
  assert.deepEqual(missing, [], 'no acknowledged write lost');
  assert.ok(Number(after!.id) > Math.max(...acked), `the sequence goes on past ${Math.max(...acked)}: ${after!.id}`);
  const [billing] = await queryDb<{ n: number }>('billing', 'select count(*)::int as n from invoices');
  assert.equal(billing!.n, 300);
  const list = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.equal(list.backups[list.backups.length - 1]?.pgVersion, 17, JSON.stringify(list.backups));
  assert.deepEqual(list.backups.filter((b) => b.label === backedUpBefore).map((b) => [b.type, b.pgVersion]), [['full', 15]], JSON.stringify(list.backups));

  // The way back before finish: 15 serves again, read-write; 17's writes since the cutover are not carried back.
  const refused = await runCli(['upgrade', 'rollback', C], cli);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--discard-writes/);
  const back = await runCli(['upgrade', 'rollback', C, '--discard-writes'], cli);
  assert.equal(back.code, 0, back.stderr + back.stdout);
  assert.equal((await status()).version, 15);
  const [n15] = await superuser('select count(*)::int as n from orders');
  assert.equal(n15!.n, 5000);
  const [row] = await queryCluster<{ id: number }>(cli, C, 'insert into orders (item) values (\'after rollback\') returning id::int as id', ['--superuser']);
  assert.ok(row!.id > 5000);
  await superuser('delete from orders where item = \'after rollback\'');
  const back15 = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.equal(back15.backups[back15.backups.length - 1]?.pgVersion, 15, 'the stanza is 15\'s again, with a full backup');
  // The run's own backups (on 17, back on 15) expired nothing: under the default retention (2 full) they would have expired it.
  assert.ok(back15.backups.some((b) => b.label === backedUpBefore), `the backup before the cutover stays: ${JSON.stringify(back15.backups)}`);
  assert.match(back.stdout, new RegExp(`backup before the cutover: ${backedUpBefore}`));
  const left = await docker.listContainers({ all: true, filters: { label: [`dbaas.cluster=${C}`] } });
  assert.deepEqual(left.map((c) => c.Id).sort(), before.map((c) => c.Id).sort(), 'generation 2\'s containers are gone');
  const volumes = (await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`] } })).Volumes ?? [];
  assert.deepEqual(volumes.filter((v) => /-pg-[23]-data$/.test(v.Name)).map((v) => v.Name), [], 'and their volumes');
  const slots = await superuser("select (select count(*) from pg_replication_slots where slot_type = 'logical') as slots, (select count(*) from pg_publication) as pubs");
  assert.deepEqual(slots, [{ slots: '0', pubs: '0' }], 'no slot keeps WAL on the old leader, no publication stays');
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

test('the way back: a restore to a moment before the upgrade is a PostgreSQL 15 cluster with that moment\'s rows; it then goes to 17 blue-green (the default; the worker SIGKILLed inside the cutover, which completes once) and `upgrade finish` removes its 15 members', async () => {
  assert.ok(beforeUpgradeAt, 'the upgrade test ran');
  const r = await runCli(['restore', C, '--into', BACK, '--to-time', beforeUpgradeAt, '--replicas', '0', '--profile', 'fast'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = JSON.parse((await runCli(['cluster', 'status', BACK, '--json'], cli)).stdout) as ClusterStatus;
  assert.equal(s.version, 15);
  const [n] = await queryCluster<{ n: number }>(cli, BACK, 'select count(*)::int as n from orders', ['--superuser']);
  assert.equal(n!.n, 5000);

  // The 15 cluster the restore made goes to 17 the default way, blue-green, and stays there: `upgrade finish`.
  // The worker is SIGKILLed inside the cutover (the poolers paused, the resume not yet done): a
  // new one carries it on, once.
  const upgrading = runCli(['upgrade', BACK, '--to', '17'], cli);
  const handle = env.client.workflow.getHandle(upgradeWorkflowIds.blueGreen(BACK));
  const poolers = { type: 'signalPoolers' };
  await waitForActivityCompleted(handle, poolers, 1, 600_000);
  const killed = workers[workers.length - 1]!;
  killed.kill('SIGKILL');
  await waitForExit(killed, 30_000, 'the SIGKILLed worker did not exit');
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(completedCount(events, poolers), 1, 'the kill came before the poolers\' resume');
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-cutover.log')));
  const cut = await upgrading;
  assert.equal(cut.code, 0, cut.stderr + cut.stdout);
  assert.match(cut.stdout, /cut over to PostgreSQL 17/);
  const history = (await handle.fetchHistory()).events ?? [];
  const ran = (type: string) => completedCount(history, { type });
  assert.deepEqual([ran('stopWrites'), ran('copySequences'), ran('setServingGeneration'), ran('signalPoolers')], [1, 1, 1, 2], 'each cutover step completed once: pause, stop, sequences, serve, resume');
  const early = await runCli(['upgrade', 'finish', C], cli);
  assert.equal(early.code, 2, 'no blue-green upgrade of C waits for a decision');
  const fin = await runCli(['upgrade', 'finish', BACK], cli);
  assert.equal(fin.code, 0, fin.stderr + fin.stdout);
  assert.match(fin.stdout, /PostgreSQL 15 → 17 finished; leader pg-1; the PostgreSQL 15 members are removed/);
  const s17 = JSON.parse((await runCli(['cluster', 'status', BACK, '--json'], cli)).stdout) as ClusterStatus;
  assert.deepEqual([s17.version, s17.members.map((m) => m.name)], [17, ['pg-1']]);
  const [n17] = await queryCluster<{ n: number }>(cli, BACK, 'select count(*)::int as n from orders', ['--superuser']);
  assert.equal(n17!.n, 5000);
  const volumes = (await docker.listVolumes({ filters: { label: [`dbaas.cluster=${BACK}`] } })).Volumes ?? [];
  assert.deepEqual(volumes.filter((v) => /-pg-0-data$/.test(v.Name)).map((v) => v.Name), [], 'generation 1\'s volume is gone');
  const backList = JSON.parse((await runCli(['backup', 'list', BACK, '--json'], cli)).stdout) as StanzaSummary;
  assert.equal(backList.backups[backList.backups.length - 1]?.pgVersion, 17, JSON.stringify(backList.backups));
  // The way back after finish: 15's full backup taken before the cutover, named by finish.
  const wayBack = /backup before the cutover: (\S+) \(full, PostgreSQL 15/.exec(fin.stdout)?.[1];
  assert.ok(wayBack, fin.stdout);
  assert.deepEqual(backList.backups.filter((b) => b.label === wayBack).map((b) => b.pgVersion), [15], JSON.stringify(backList.backups));
  // A replica added now joins generation 2 (its Patroni cluster), streaming from pg-1 on 17.
  const added = await runCli(['replica', 'add', BACK], cli);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  const s2 = JSON.parse((await runCli(['cluster', 'status', BACK, '--json'], cli)).stdout) as ClusterStatus;
  assert.deepEqual([s2.leader, s2.members.map((m) => m.name).sort()], ['pg-1', ['pg-1', 'pg-2']], JSON.stringify(s2.members));
  assert.ok(s2.members.every((m) => ['running', 'streaming'].includes(m.state)), JSON.stringify(s2.members));

  const gone = await runCli(['cluster', 'delete', BACK, '--yes', '--purge-backups'], cli);
  assert.equal(gone.code, 0, gone.stderr + gone.stdout);
  // Retention counts full backups across majors: the second full on 17 (the default keeps 2) expires 15's, and the way back with them.
  const bk = await runCli(['backup', 'run', C], cli);
  assert.equal(bk.code, 0, bk.stderr + bk.stdout);
  const list = JSON.parse((await runCli(['backup', 'list', C, '--json'], cli)).stdout) as StanzaSummary;
  assert.deepEqual(list.backups.map((b) => b.pgVersion), [17, 17], JSON.stringify(list.backups));
});
