/**
 * CreateDatabase, DropDatabase, CreateUser, RotateUser and DropUser with fake activities over an
 * in-memory catalog: each change runs under the cluster's lease, a change retried after it took
 * effect (the worker lost) ends the same, refusals change nothing, the pooler's steps run only
 * where poolers are.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { CreateUserResult, DropDatabaseResult, DropUserResult } from '../../workflows';
import { healthyCluster } from '../helpers/fake-activities';
import { catalogActivities, fakeCatalog, type FakeCatalog } from '../helpers/fake-catalog';
import { rootCause, runWithFakes, type FakeRun } from '../helpers/run-with-fakes';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const POOLERS = { existing: { containers: ['pgbouncer-ro', 'pgbouncer-rw'] } };

interface Scenario {
  poolers?: boolean;
  failOnceAfter?: string[];
  /** Only the leader runs. */
  leaderAlone?: boolean;
}

function run(workflow: string, arg: unknown, cat: FakeCatalog, o: Scenario = {}): Promise<FakeRun> {
  const describe = o.leaderAlone ? { describe: { members: healthyCluster.members.slice(0, 1) } } : {};
  return runWithFakes(env, workflow, arg, { ...(o.poolers ? POOLERS : {}), ...describe }, { extra: catalogActivities(env, cat, o.failOnceAfter) });
}

let q = 0;
/** Input that fails its checks before any step (so before the progress query exists): the failure and the activities called. */
async function runBadInput(workflow: string, arg: unknown): Promise<{ type?: string; calls: string[] }> {
  const taskQueue = `db-input-${process.pid}-${++q}`;
  const calls: string[] = [];
  const record = (name: string) => async () => void calls.push(name);
  const worker = await createTestWorker(env, taskQueue, { describeCluster: record('describeCluster'), databaseFacts: record('databaseFacts'), roleFacts: record('roleFacts') });
  const type = await worker.runUntil(async () => {
    const h = await env.client.workflow.start(workflow, { taskQueue, workflowId: taskQueue, args: [arg] });
    return h.result().then(() => 'succeeded', (err: unknown) => rootCause(err).type);
  });
  return { type, calls };
}

const states = (r: FakeRun): [string, string][] => r.progress.steps.map((s) => [s.name, s.state]);
const okRun = (r: FakeRun): void => assert.equal(r.error, undefined, String(r.error && rootCause(r.error).message));

test('db create: under the lease, retried after the database was made, then the lookup function for the poolers', async () => {
  const cat = fakeCatalog();
  cat.roles.set('alice', { readonly: false, database: 'app', setBy: 'x', login: true });
  const r = await run('createDatabase', { cluster: 'orders', database: 'sales', owner: 'alice' }, cat, { poolers: true, failOnceAfter: ['createDatabase'] });
  okRun(r);
  assert.deepEqual(r.result, { cluster: 'orders', database: 'sales', owner: 'alice', pooled: true });
  assert.deepEqual(r.f.names(), ['describeCluster', 'poolerContainers', 'databaseFacts', 'roleFacts', 'createDatabase', 'createDatabase', 'ensurePoolerAuth']);
  assert.deepEqual(cat.databases.get('sales'), { owner: 'alice', sessions: 0 });
  assert.deepEqual(cat.leaseSeen, [
    { activity: 'createDatabase', operation: 'create-database', holderIsCaller: true },
    { activity: 'createDatabase', operation: 'create-database', holderIsCaller: true },
  ]);
  assert.deepEqual(states(r), [
    ['wait for the operation lease on orders', 'done'],
    ['check that orders has no database sales and has role alice', 'done'],
    ['create database sales (owner alice)', 'done'],
    ['create the pooler auth_query function', 'done'],
  ]);
});

test('db create refuses an existing database and an unknown owner, and bad names before any activity', async () => {
  const exists = await run('createDatabase', { cluster: 'orders', database: 'sales' }, (() => {
    const c = fakeCatalog();
    c.databases.set('sales', { owner: 'postgres', sessions: 0 });
    return c;
  })());
  assert.equal(rootCause(exists.error).type, 'MemberRefused');
  assert.match(rootCause(exists.error).message, /^database sales already exists in cluster orders/);
  assert.ok(!exists.f.names().includes('createDatabase'));

  const noOwner = await run('createDatabase', { cluster: 'orders', database: 'sales', owner: 'bob' }, fakeCatalog());
  assert.match(rootCause(noOwner.error).message, /^no role bob in cluster orders/);
  assert.ok(!noOwner.f.names().includes('createDatabase'));

  for (const bad of [{ cluster: 'orders', database: 'template1' }, { cluster: 'orders', database: 'Sales' }, { cluster: '../x', database: 'sales' }]) {
    assert.deepEqual(await runBadInput('createDatabase', bad), { type: 'SpecError', calls: [] }, JSON.stringify(bad));
  }
});

test('db drop: under the lease, ends its sessions; a retry after the drop ends the same; an unknown one and postgres are refused', async () => {
  const cat = fakeCatalog();
  cat.databases.set('sales', { owner: 'postgres', sessions: 3 });
  const r = await run('dropDatabase', { cluster: 'orders', database: 'sales' }, cat, { failOnceAfter: ['dropDatabase'] });
  okRun(r);
  assert.ok(!cat.databases.has('sales'));
  assert.deepEqual(r.f.names().filter((n) => n === 'dropDatabase').length, 2, 'retried once');
  // The count is the last attempt's: a retry that finds the database gone ended nothing.
  assert.deepEqual(r.result as DropDatabaseResult, { cluster: 'orders', database: 'sales', sessionsEnded: 0 });
  assert.ok(cat.leaseSeen.every((l) => l.operation === 'drop-database' && l.holderIsCaller));

  const unknown = await run('dropDatabase', { cluster: 'orders', database: 'sales' }, cat);
  assert.match(rootCause(unknown.error).message, /^no database sales in cluster orders/);
  assert.ok(!unknown.f.names().includes('dropDatabase'));

  assert.deepEqual(await runBadInput('dropDatabase', { cluster: 'orders', database: 'postgres' }), { type: 'SpecError', calls: [] });
});

test('user create: one password per run (the retry keeps it), logins through rw and the pooler, under the lease', async () => {
  const cat = fakeCatalog();
  const r = await run('createUser', { cluster: 'orders', role: 'reporting', readonly: true }, cat, { poolers: true, failOnceAfter: ['createUserRole'] });
  okRun(r);
  assert.deepEqual(r.result as CreateUserResult, { cluster: 'orders', role: 'reporting', database: 'app', readonly: true, pooled: true });
  assert.equal(cat.setBy.length, 2);
  assert.equal(cat.setBy[0], cat.setBy[1], 'the retry sets the password its first attempt stored');
  assert.deepEqual(r.f.names(), [
    'describeCluster', 'poolerContainers', 'roleFacts', 'databaseFacts', 'createUserRole', 'createUserRole', 'proveRoleLogin', 'ensurePoolerAuth', 'proveRoleLogin', 'proveRoleLogin',
  ]);
  assert.deepEqual(r.f.calls.filter((c) => c.name === 'proveRoleLogin').map((c) => c.arg), [
    { cluster: 'orders', port: 25432, role: 'reporting', pooled: false },
    { cluster: 'orders', port: 25446, role: 'reporting', pooled: true },
    { cluster: 'orders', port: 25447, role: 'reporting', pooled: true },
  ]);
  assert.ok(cat.leaseSeen.every((l) => l.operation === 'create-user' && l.holderIsCaller));
  const keys = [r.result, ...r.f.calls.map((c) => c.arg)].flatMap((x) => Object.keys(x as object));
  assert.ok(!keys.some((k) => /pass|secret/i.test(k)), `no password among the inputs and the result: ${keys.join(', ')}`);
});

test('user create without poolers skips the pooler steps; an existing role or a missing database is refused', async () => {
  const cat = fakeCatalog();
  cat.databases.set('sales', { owner: 'postgres', sessions: 0 });
  const r = await run('createUser', { cluster: 'orders', role: 'writer', database: 'sales' }, cat);
  okRun(r);
  assert.deepEqual(cat.roles.get('writer')?.readonly, false);
  assert.deepEqual(r.progress.steps.filter((s) => s.state === 'skipped').map((s) => [s.name, s.detail]), [
    ['create the pooler auth_query function', 'no poolers'],
    ['log in as writer through the pooler in front of rw', 'no poolers'],
    ['log in as writer through the pooler in front of ro', 'no poolers'],
  ]);

  const again = await run('createUser', { cluster: 'orders', role: 'writer', database: 'sales' }, cat);
  assert.match(rootCause(again.error).message, /^role writer already exists in cluster orders/);
  const noDb = await run('createUser', { cluster: 'orders', role: 'other', database: 'nosuch' }, cat);
  assert.match(rootCause(noDb.error).message, /^no database nosuch in cluster orders/);
  for (const x of [again, noDb]) assert.ok(!x.f.names().includes('createUserRole'));
  assert.deepEqual(await runBadInput('createUser', { cluster: 'orders', role: 'app' }), { type: 'SpecError', calls: [] });
  assert.deepEqual(await runBadInput('createUser', { cluster: 'orders', role: 'ro', readonly: 'yes' }), { type: 'SpecError', calls: [] });
  for (const w of ['rotateUser', 'dropUser']) assert.deepEqual(await runBadInput(w, { cluster: 'orders', role: 'dbaas_pgbouncer' }), { type: 'SpecError', calls: [] }, w);
});

test('user rotate: a new password per run, kept by its retry; an unknown role is refused', async () => {
  const cat = fakeCatalog();
  cat.roles.set('alice', { readonly: false, database: 'app', setBy: 'create-run', login: true });
  const first = await run('rotateUser', { cluster: 'orders', role: 'alice' }, cat, { poolers: true, failOnceAfter: ['rotateUserPassword'] });
  okRun(first);
  assert.deepEqual(first.result, { cluster: 'orders', role: 'alice', pooled: true });
  const [a, b] = cat.setBy;
  assert.equal(a, b, 'the retry keeps the first attempt\'s password');
  assert.notEqual(a, 'create-run');
  const second = await run('rotateUser', { cluster: 'orders', role: 'alice' }, cat);
  okRun(second);
  assert.notEqual(cat.setBy[2], a, 'another rotation, another password');
  assert.ok(cat.leaseSeen.every((l) => l.operation === 'rotate-user' && l.holderIsCaller));
  assert.deepEqual(second.f.names().slice(-2), ['rotateUserPassword', 'proveRoleLogin'], 'without poolers: the login through rw alone');

  const alone = await run('rotateUser', { cluster: 'orders', role: 'alice' }, cat, { poolers: true, leaderAlone: true });
  okRun(alone);
  assert.deepEqual(alone.progress.steps.filter((s) => s.state === 'skipped').map((s) => [s.name, s.detail]), [
    ['log in as alice through the pooler in front of ro', 'no replica runs: ro has no server'],
  ]);

  const unknown = await run('rotateUser', { cluster: 'orders', role: 'bob' }, cat);
  assert.match(rootCause(unknown.error).message, /^no role bob in cluster orders/);
  assert.ok(!unknown.f.names().includes('rotateUserPassword'));
});

test('user drop: under the lease, retried after the drop; a role that owns a database is refused', async () => {
  const cat = fakeCatalog();
  cat.roles.set('alice', { readonly: false, database: 'app', setBy: 'x', login: true });
  cat.roles.set('owner', { readonly: false, database: 'sales', setBy: 'y', login: true });
  cat.databases.set('sales', { owner: 'owner', sessions: 0 });
  const r = await run('dropUser', { cluster: 'orders', role: 'alice' }, cat, { failOnceAfter: ['dropUserRole'] });
  okRun(r);
  assert.ok(!cat.roles.has('alice'));
  assert.equal((r.result as DropUserResult).role, 'alice');
  assert.equal(r.f.names().filter((n) => n === 'dropUserRole').length, 2);
  assert.ok(cat.leaseSeen.every((l) => l.operation === 'drop-user' && l.holderIsCaller));

  const owns = await run('dropUser', { cluster: 'orders', role: 'owner' }, cat);
  assert.match(rootCause(owns.error).message, /^role owner owns database sales: drop it first/);
  assert.ok(!owns.f.names().includes('dropUserRole'));
  assert.ok(cat.roles.has('owner'));
});
