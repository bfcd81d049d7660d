/**
 * `db`, `user` and `connect --user` refuse bad names, dbaas's own roles and databases, and flags
 * that do not go together with one line and exit 2, before contacting Docker or Temporal
 * (their addresses here lead nowhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/integration';

const env = {
  ...process.env,
  DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-db-refusals-')),
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  DOCKER_HOST: 'unix:///nonexistent/docker.sock',
};

test('bad or reserved database and role names, and --user with --superuser: one line, exit 2, nothing contacted', async () => {
  for (const [args, said] of [
    [['db', 'create', 'orders', 'Sales'], /database name must be/],
    [['db', 'create', 'orders', 'template1'], /exists in every cluster/],
    [['db', 'create', 'orders', 'sales', '--owner', 'replicator'], /cannot own a database/],
    [['db', 'drop', 'orders', 'postgres', '--yes'], /PostgreSQL's own/],
    [['db', 'drop', 'orders', 'app', '--yes'], /`dbaas connect` hands out/],
    [['user', 'create', 'orders', 'dbaas_pgbouncer'], /one dbaas makes and uses/],
    [['user', 'create', 'orders', 'ro', '--database', 'a-b'], /database name must be/],
    [['user', 'rotate', 'orders', 'pg_monitor'], /reserved by PostgreSQL/],
    [['user', 'drop', 'orders', 'public', '--yes'], /keyword/],
    [['connect', 'orders', '--user', 'Alice'], /role name must be/],
    [['connect', 'orders', '--user', 'alice', '--superuser'], /--user excludes --superuser/],
  ] as [string[], RegExp][]) {
    const r = await runCli(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, said, args.join(' '));
  }
});
