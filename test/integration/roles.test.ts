/**
 * Databases and users on one real cluster (a leader and one replica, fast profile, no backups),
 * through the CLI and a worker in a child process: a read-only user selects and cannot insert, a
 * read-write user creates a table and inserts; `user rotate` turns the old password away and the
 * new one logs in directly and through the pooler, while a pooled session opened before goes on;
 * `db drop` without --yes and no terminal exits 2 and drops nothing; the lists show what was made
 * and no longer show what was dropped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DatabaseRow } from '../../activities/databases';
import type { RoleRow } from '../../activities/roles';
import type { Paths } from '../../common/paths';
import { childEnv, createClusterDirectly, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, testClusterName } from '../helpers/integration';
import { startTestTemporal } from '../helpers/temporal';
import Docker from 'dockerode';

const S = testClusterName('roles');
let env: TestWorkflowEnvironment;
let paths: Paths;
let worker: ChildProcess;

const cli = (...args: string[]) => runCli(args, childEnv(env, paths));

before(async () => {
  await removeLeftoverTestClusters(new Docker());
  env = await startTestTemporal();
  paths = tempPaths();
  worker = startChildWorker(env, paths, path.join(paths.home, 'worker.log'));
  await createClusterDirectly(env, { name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
});

after(async () => {
  await cli('cluster', 'delete', S, '--purge-backups', '--yes');
  if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
  await env?.teardown();
});

/** The URI a create or rotate printed: its last line, and the only line of stdout that holds its password. */
function printedUri(out: string): string {
  const uri = out.trim().split('\n').at(-1) ?? '';
  assert.match(uri, /^postgresql:\/\//, out);
  const password = decodeURIComponent(new URL(uri).password);
  assert.equal(out.split(password).length - 1, 1, 'the password is printed once');
  return uri;
}

async function connected(uri: string): Promise<Client> {
  const c = new Client({ connectionString: uri });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function query(uri: string, text: string): Promise<unknown[]> {
  const c = await connected(uri);
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/** The SQLSTATE a statement fails with (undefined: it succeeded). */
async function failure(uri: string, text: string): Promise<string | undefined> {
  return query(uri, text).then(() => undefined, (err: { code?: string }) => err.code ?? 'no code');
}

async function lists(): Promise<{ databases: DatabaseRow[]; roles: RoleRow[] }> {
  const dbs = await cli('db', 'list', S, '--json');
  const users = await cli('user', 'list', S, '--json');
  assert.equal(dbs.code, 0, dbs.stderr);
  assert.equal(users.code, 0, users.stderr);
  return { databases: JSON.parse(dbs.stdout) as DatabaseRow[], roles: JSON.parse(users.stdout) as RoleRow[] };
}

test('databases and users: read-only and read-write access, rotation through the pooler, refusals, lists, drops', async () => {
  const db = await cli('db', 'create', S, 'sales');
  assert.equal(db.code, 0, db.stderr + db.stdout);
  const again = await cli('db', 'create', S, 'sales');
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /already exists/);

  const writerMade = await cli('user', 'create', S, 'writer', '--database', 'sales');
  assert.equal(writerMade.code, 0, writerMade.stderr + writerMade.stdout);
  const writer = printedUri(writerMade.stdout);
  assert.equal(new URL(writer).pathname, '/sales');
  assert.equal(await failure(writer, 'create table orders (id int primary key, note text)'), undefined, 'read-write creates a table');
  assert.equal(await failure(writer, "insert into orders values (1, 'one')"), undefined, 'and inserts');

  const readerMade = await cli('user', 'create', S, 'reader', '--database', 'sales', '--readonly');
  assert.equal(readerMade.code, 0, readerMade.stderr + readerMade.stdout);
  const reader = printedUri(readerMade.stdout);
  assert.deepEqual(await query(reader, 'select id, note from orders'), [{ id: 1, note: 'one' }], 'read-only selects');
  assert.equal(await failure(reader, "insert into orders values (2, 'two')"), '42501', 'read-only cannot insert');
  assert.equal(await failure(reader, 'create table mine (id int)'), '42501', 'nor create');
  assert.equal(await failure(writer, 'create table later (id int)'), undefined, 'a table made after the reader');
  assert.deepEqual(await query(reader, 'select count(*)::int as n from later'), [{ n: 0 }], 'is readable too');
  assert.equal(await failure(reader, 'select rolpassword from pg_authid'), '42501', 'password verifiers are not');
  const laterWriterMade = await cli('user', 'create', S, 'loader', '--database', 'sales');
  assert.equal(laterWriterMade.code, 0, laterWriterMade.stderr + laterWriterMade.stdout);
  assert.equal(await failure(printedUri(laterWriterMade.stdout), 'create table loaded (id int)'), undefined, 'a writer made after the reader');
  assert.deepEqual(await query(reader, 'select count(*)::int as n from loaded'), [{ n: 0 }], 'makes tables the reader reads');

  const { databases, roles } = await lists();
  assert.ok(databases.some((d) => d.name === 'sales' && d.owner === 'postgres' && !d.service), JSON.stringify(databases));
  const listed = (name: string) => roles.find((r) => r.name === name);
  assert.deepEqual([listed('writer')?.readonly, listed('writer')?.databases], [false, ['sales']]);
  assert.deepEqual([listed('reader')?.readonly, listed('reader')?.databases], [true, ['sales']]);
  assert.equal(listed('postgres')?.service, true);

  // A pooled session opened before the rotation.
  const pooledBefore = (await cli('connect', S, '--user', 'writer', '--pooled')).stdout.trim();
  const open = await connected(pooledBefore);
  await open.query('select 1');

  const rotated = await cli('user', 'rotate', S, 'writer');
  assert.equal(rotated.code, 0, rotated.stderr + rotated.stdout);
  const writerNow = printedUri(rotated.stdout);
  assert.notEqual(new URL(writerNow).password, new URL(writer).password);
  assert.equal(await failure(writer, 'select 1'), '28P01', 'the old password fails directly');
  // PgBouncer answers a failed login with its own SQLSTATE (08P01 in 1.18).
  assert.notEqual(await failure(pooledBefore, 'select 1'), undefined, 'and through the pooler');
  assert.deepEqual(await query(writerNow, 'select count(*)::int as n from orders'), [{ n: 1 }], 'the new one works directly');
  const pooledNow = (await cli('connect', S, '--user', 'writer', '--pooled')).stdout.trim();
  assert.equal(new URL(pooledNow).password, new URL(writerNow).password, '`connect --user` gives the new password');
  assert.deepEqual(await query(pooledNow, "insert into orders values (3, 'three') returning id"), [{ id: 3 }], 'and through the pooler');
  assert.deepEqual((await open.query<{ n: number }>('select count(*)::int as n from orders')).rows, [{ n: 2 }], 'the pooled session opened before goes on');
  await open.end();

  const unconfirmed = await cli('db', 'drop', S, 'sales');
  assert.equal(unconfirmed.code, 2, unconfirmed.stderr);
  assert.match(unconfirmed.stderr, /needs --yes when there is no terminal/);
  assert.ok((await lists()).databases.some((d) => d.name === 'sales'), 'nothing dropped');
  const unknown = await cli('user', 'drop', S, 'nobody', '--yes');
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);

  for (const r of ['reader', 'writer', 'loader']) {
    const dropped = await cli('user', 'drop', S, r, '--yes');
    assert.equal(dropped.code, 0, dropped.stderr + dropped.stdout);
  }
  const dbDropped = await cli('db', 'drop', S, 'sales', '--yes');
  assert.equal(dbDropped.code, 0, dbDropped.stderr + dbDropped.stdout);
  const after = await lists();
  assert.ok(!after.databases.some((d) => d.name === 'sales'), JSON.stringify(after.databases));
  assert.ok(!after.roles.some((r) => r.name === 'reader' || r.name === 'writer'), JSON.stringify(after.roles));
  const gone = await cli('connect', S, '--user', 'writer');
  assert.equal(gone.code, 2, 'its stored password went with it');
});
