import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { pgpassLine, psqlEnvironment, runPsql } from '../../client/commands/psql';
import { registerPsqlCommand } from '../../client/registration/psql';
import type { ConnectionTarget, EndpointFlags } from '../../client/connection-target';
import { checkEndpointFlags, connectionUri } from '../../client/connection-target';
import { UsageError } from '../../client/errors';
import { splitPsqlArgs } from '../../client/psql-args';

/** What `dbaas …` hands on, split and parsed as main() does: the cluster, dbaas's own flags and psql's arguments. */
async function parse(...args: string[]): Promise<{ name: string; o: EndpointFlags; psqlArgs: string[] }> {
  let seen: { name: string; o: EndpointFlags; psqlArgs: string[] } | undefined;
  const { dbaas, psql } = splitPsqlArgs(args);
  const program = new Command('dbaas').exitOverride().option('--no-wait');
  registerPsqlCommand(program, psql, async (name, o, psqlArgs) => {
    seen = { name, o, psqlArgs };
  });
  await program.parseAsync(['node', 'dbaas', ...dbaas]);
  assert.ok(seen);
  return seen;
}

const flags = (o: Partial<EndpointFlags> = {}): EndpointFlags => ({ ro: false, pooled: false, member: undefined, superuser: false, ...o });

test('psql arguments: everything after -- goes to psql as it is, also options dbaas knows', async () => {
  assert.deepEqual(await parse('psql', 'orders', '--ro', '--', '-c', 'select 1', '--pooled', '--'), {
    name: 'orders', o: flags({ ro: true }), psqlArgs: ['-c', 'select 1', '--pooled', '--'],
  });
  assert.deepEqual(await parse('psql', 'orders'), { name: 'orders', o: flags(), psqlArgs: [] });
  assert.deepEqual(await parse('psql', 'orders', '--superuser', '--pooled', '--', '-X'), { name: 'orders', o: flags({ superuser: true, pooled: true }), psqlArgs: ['-X'] });
  assert.deepEqual(await parse('psql', 'orders', '--member', 'pg-1', '--', '-c', '\\dt'), { name: 'orders', o: flags({ member: 'pg-1' }), psqlArgs: ['-c', '\\dt'] });
  assert.deepEqual(await parse('--no-wait', 'psql', '--member=pg-2', 'orders', '--', '--ro'), { name: 'orders', o: flags({ member: 'pg-2' }), psqlArgs: ['--ro'] });
});

test('psql arguments without --: from the first argument that is not dbaas\'s on, all go to psql', async () => {
  assert.deepEqual(await parse('psql', 'orders', '-c', 'select pg_sleep(3)'), { name: 'orders', o: flags(), psqlArgs: ['-c', 'select pg_sleep(3)'] });
  assert.deepEqual(await parse('psql', 'orders', '--ro', '-c', 'select 1', '--ro'), { name: 'orders', o: flags({ ro: true }), psqlArgs: ['-c', 'select 1', '--ro'] });
  assert.deepEqual(await parse('psql', 'orders', 'otherdb'), { name: 'orders', o: flags(), psqlArgs: ['otherdb'] });
});

test('only the psql command is split: other commands keep all their arguments, also a cluster named psql', () => {
  for (const args of [['connect', 'psql', '--ro'], ['cluster', 'create', 'psql', '--', 'x'], ['--no-wait', 'replica', 'add', 'psql'], []]) {
    assert.deepEqual(splitPsqlArgs(args), { dbaas: args, psql: [] });
  }
});

test('bad flags and names are refused (exit 2) before anything is contacted', async () => {
  assert.throws(() => checkEndpointFlags(flags({ member: 'pg-1', ro: true })), UsageError);
  assert.throws(() => checkEndpointFlags(flags({ member: 'pg-1', pooled: true })), UsageError);
  await assert.rejects(parse('psql', 'Bad_Name'), UsageError);
  await assert.rejects(parse('psql', 'orders', '--member', 'leader'), UsageError);
});

const target: ConnectionTarget = {
  host: '127.0.0.1', port: 15432, user: 'app', database: 'app', password: 'a:b\\c', sslmode: 'verify-full', sslrootcert: '/home/u/.dbaas/tls/orders/ca.crt',
};

test('the password file line escapes : and \\; the environment names the target and drops what would override it', () => {
  assert.equal(pgpassLine(target), '127.0.0.1:15432:*:app:a\\:b\\\\c\n');
  const env = psqlEnvironment(target, '/tmp/x/pgpass', { PATH: '/bin', PGPASSWORD: 'other', PGSERVICE: 's', PGHOSTADDR: '10.0.0.1' });
  assert.deepEqual(env, {
    PATH: '/bin', PGHOST: '127.0.0.1', PGPORT: '15432', PGUSER: 'app', PGDATABASE: 'app', PGPASSFILE: '/tmp/x/pgpass',
    PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/home/u/.dbaas/tls/orders/ca.crt',
  });
  assert.ok(!Object.values(env).includes(target.password));
  assert.equal(psqlEnvironment({ ...target, sslmode: 'disable', sslrootcert: undefined }, 'f', { PGSSLROOTCERT: 'old' }).PGSSLROOTCERT, undefined);
});

test('connect\'s URI carries the same target, with the TLS parameters', () => {
  assert.equal(connectionUri(target), 'postgresql://app:a%3Ab%5Cc@127.0.0.1:15432/app?sslmode=verify-full&sslrootcert=/home/u/.dbaas/tls/orders/ca.crt');
  assert.equal(connectionUri({ ...target, sslmode: 'disable', sslrootcert: undefined }), 'postgresql://app:a%3Ab%5Cc@127.0.0.1:15432/app?sslmode=disable');
});

test('runPsql: the program sees a 0600 password file in a private directory, gone after it exits; its exit code is passed on', async () => {
  // A stand-in for psql that reports what it got and exits with code 3.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-psql-'));
  const report = path.join(dir, 'report.json');
  const fake = path.join(dir, 'psql');
  fs.writeFileSync(fake, `#!/bin/sh
f="$PGPASSFILE"
printf '{"file":"%s","mode":"%s","dirMode":"%s","line":"%s","args":"%s"}' "$f" "$(stat -c %a "$f")" "$(stat -c %a "$(dirname "$f")")" "$(cat "$f" | tr -d '\\n' | sed 's/\\\\/\\\\\\\\/g')" "$*" > ${report}
exit 3
`, { mode: 0o755 });
  const code = await runPsql({ ...target, password: 'pw' }, ['-c', 'select 1'], fake);
  assert.equal(code, 3);
  const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { file: string; mode: string; dirMode: string; line: string; args: string };
  assert.equal(r.mode, '600');
  assert.equal(r.dirMode, '700');
  assert.equal(r.line, '127.0.0.1:15432:*:app:pw');
  assert.equal(r.args, '-c select 1');
  assert.ok(!fs.existsSync(path.dirname(r.file)), 'the private directory is removed once psql exits');
  await assert.rejects(runPsql(target, [], path.join(dir, 'no-such-psql')), /not found: install the PostgreSQL client/);
  fs.rmSync(dir, { recursive: true, force: true });
});
