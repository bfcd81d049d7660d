/**
 * Least privilege and no password on a command line, on one real cluster (pg-0, pg-1, PgBouncer):
 * `connect` hands out the `app` role (not superuser, not createrole, owner of database app) that
 * works through rw, ro and the pooler; `connect --superuser` the postgres one; `dbaas psql`
 * starts the local psql with the password in a 0600 file only, which no process's command line
 * or environment shows; a cluster without the app role gets it from `cluster add-app-role`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Client } from 'pg';
import { readClusterSecrets } from '../../activities/secrets';
import { demux } from '../../activities/docker';
import { LABEL_CLUSTER, LABEL_ROLE } from '../../common/labels';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const S = testClusterName('priv');
let it: IntegrationEnv;

before(async () => {
  it = await startIntegration(docker);
  await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
});

after(async () => {
  await it?.stop([S]);
});

const cli = (...args: string[]) => runCli(args, childEnv(it.env, it.paths));

async function uri(...flags: string[]): Promise<string> {
  const r = await cli('connect', S, ...flags);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function query<T extends Record<string, unknown>>(connectionString: string, text: string): Promise<T[]> {
  const c = new Client({ connectionString, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

const ROLE = 'select rolsuper, rolcreaterole, current_user::text as "user", current_database()::text as db from pg_roles where rolname = current_user';

test('connect: the app role, neither superuser nor createrole, creates a table in app and reads it back through ro and pooled rw', async () => {
  const rw = await uri();
  assert.match(rw, /^postgresql:\/\/app:[^@]+@127\.0\.0\.1:\d+\/app\?sslmode=/);
  assert.deepEqual(await query(rw, ROLE), [{ rolsuper: false, rolcreaterole: false, user: 'app', db: 'app' }]);
  await query(rw, 'create table notes (id int primary key, body text)');
  await query(rw, "insert into notes values (1, 'written through rw')");
  // Asynchronous replication: the replica shows the row within moments.
  const ro = await uri('--ro');
  let seen: { r: boolean; body: string }[] = [];
  for (let i = 0; i < 40 && seen.length === 0; i++) {
    seen = await query<{ r: boolean; body: string }>(ro, 'select pg_is_in_recovery() as r, body from notes');
    if (seen.length === 0) await new Promise((res) => setTimeout(res, 250));
  }
  assert.deepEqual(seen, [{ r: true, body: 'written through rw' }]);
  // PgBouncer looks the app role's SCRAM secret up in database app (auth_query).
  const pooled = await uri('--pooled');
  assert.deepEqual(await query(pooled, 'select current_user::text as "user", body from notes'), [{ user: 'app', body: 'written through rw' }]);
  await assert.rejects(query(rw, 'create role intruder'), /permission denied/);
});

test('connect --superuser: the postgres role in database postgres', async () => {
  const su = await uri('--superuser');
  assert.match(su, /^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres\?/);
  assert.deepEqual(await query(su, ROLE), [{ rolsuper: true, rolcreaterole: true, user: 'postgres', db: 'postgres' }]);
});

/** Every process's command line (NUL-separated arguments joined by spaces) and, where readable, its environment. */
function processes(): { pid: string; cmdline: string; environ: string }[] {
  const out: { pid: string; cmdline: string; environ: string }[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      let environ = '';
      try {
        environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        // Another user's process: its command line is what every local user can read.
      }
      out.push({ pid, cmdline, environ });
    } catch {
      // Ended between the listing and the read.
    }
  }
  return out;
}

test('dbaas psql: no password in any process\'s command line while psql runs; psql sees a 0600 file that is gone after it', async () => {
  const passwords = Object.values(readClusterSecrets(it.paths, S)).filter((p): p is string => typeof p === 'string');
  assert.ok(passwords.length >= 8 && passwords.every((p) => p.length >= 20), 'every password of the cluster was read');
  // The CLI's private directory for the password file goes under this TMPDIR, so it can be watched.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-psql-test-'));
  const running = runCli(['psql', S, '-c', 'select pg_sleep(3)'], { ...childEnv(it.env, it.paths), TMPDIR: tmp });
  let done = false;
  void running.then(() => { done = true; });
  let scans = 0;
  let psqlSeen = false;
  let passfileMode = '';
  while (!done) {
    for (const p of processes()) {
      for (const pw of passwords) assert.ok(!p.cmdline.includes(pw), `a password of ${S} is on the command line of pid ${p.pid}: ${p.cmdline.split(pw).join('<password>')}`);
      // Debian's psql is a wrapper that execs /usr/lib/postgresql/<major>/bin/psql.
      if (/^(\S*\/)?psql /.test(p.cmdline) && p.cmdline.includes('pg_sleep(3)') && p.environ.includes(`PGPASSFILE=${tmp}/`)) {
        psqlSeen = true;
        for (const pw of passwords) assert.ok(!p.environ.includes(pw), 'nor in psql\'s environment');
        const passfile = /PGPASSFILE=([^\0]+)/.exec(p.environ)?.[1] ?? '';
        if (fs.existsSync(passfile)) passfileMode = (fs.statSync(passfile).mode & 0o777).toString(8);
      }
    }
    scans++;
    await new Promise((res) => setTimeout(res, 150));
  }
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pg_sleep/);
  assert.match(r.stdout, /\(1 row\)/);
  assert.ok(scans >= 5, `scanned ${scans} times while psql ran`);
  assert.ok(psqlSeen, 'the scans saw psql running with its password file');
  assert.equal(passfileMode, '600');
  assert.deepEqual(fs.readdirSync(tmp), [], 'the private directory with the password file is removed after psql exits');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('dbaas psql --ro reaches a replica; psql\'s exit code is passed on', async () => {
  const ro = await cli('psql', S, '--ro', '-c', 'select pg_is_in_recovery()');
  assert.equal(ro.code, 0, ro.stderr);
  assert.match(ro.stdout, /^ t$/m);
  const su = await cli('psql', S, '--superuser', '--', '-XAtc', 'select current_user');
  assert.equal(su.stdout.trim(), 'postgres');
  const failed = await cli('psql', S, '-c', 'select 1/0');
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /division by zero/);
});

test('bad input: unknown cluster, --member with --ro: one line, exit 2', async () => {
  for (const args of [['psql', 't-nope'], ['psql', S, '--member', 'pg-0', '--ro'], ['connect', 't-nope'], ['connect', S, '--member', 'pg-1', '--ro']]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
});

/** What the members' PostgreSQL logged (their containers' output). */
async function memberLogs(): Promise<string> {
  const cs = await docker.listContainers({ filters: { label: [`${LABEL_CLUSTER}=${S}`, `${LABEL_ROLE}=postgres`] } });
  const logs = await Promise.all(cs.map(async (c) => demux(await docker.getContainer(c.Id).logs({ stdout: true, stderr: true }) as unknown as Buffer)));
  return logs.join('\n');
}

test('a cluster made before the app role: connect says what to run; cluster add-app-role adds it, and again changes nothing', async () => {
  // DDL is logged from now on, and the pooler role has lost its password: the step sets both roles' passwords again.
  const su = await uri('--superuser');
  await query(su, "alter system set log_statement = 'ddl'");
  await query(su, 'select pg_reload_conf()');
  await query(su, "alter role dbaas_pgbouncer password 'not-the-pooler-password'");
  await eventually(async () => (await memberLogs()).includes('not-the-pooler-password'), 'DDL shows in the members\' logs');
  // As a secrets file of such a cluster reads: no app password.
  const file = path.join(it.paths.secrets, `${S}.json`);
  const secrets = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  delete secrets.app;
  fs.writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  const refused = await cli('connect', S);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, new RegExp(`dbaas cluster add-app-role ${S}`));
  const added = await cli('cluster', 'add-app-role', S);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  assert.match(added.stdout, /role app and database app ready/);
  // The role has the new password; its table is still there, also through the pooler.
  for (const flags of [[], ['--pooled']]) assert.deepEqual(await query(await uri(...flags), 'select count(*)::int as n from notes'), [{ n: 1 }]);
  // Both passwords reached the server as SCRAM verifiers only.
  const logs = await memberLogs();
  for (const role of ['app', 'dbaas_pgbouncer']) assert.match(logs, new RegExp(`ALTER ROLE "${role}" PASSWORD 'SCRAM-SHA-256\\$4096:`));
  for (const [name, pw] of Object.entries(readClusterSecrets(it.paths, S))) assert.ok(!logs.includes(pw as string), `the ${name} password is not in the server log`);
  await query(su, 'alter system reset log_statement');
  await query(su, 'select pg_reload_conf()');
  const again = await cli('cluster', 'add-app-role', S);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  assert.match(again.stdout, /already there, verified/);
});

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (await check()) return;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.fail(`not seen within 10 s: ${what}`);
}
