/**
 * `connect` and `cluster status` read through the read-only inventory: their command modules, and
 * a whole run of each against a fake engine (test/helpers/fake-engine.ts), load none of the heavy
 * packages. Allowed:
 * - `connect`: no package at all (node's own http, fs; the secret file; the engine's lists).
 * - `cluster status`: cli-table3 (and its string-width helpers) for the table. Temporal's client
 *   it needs for the operation running on the cluster loads in a worker thread
 *   (client/operations-worker.ts): another isolate, so never in this thread's require cache.
 *   A cluster whose repository is on the repository host (or with no member running) reads its
 *   last backup through the workers' code and dockerode, loaded only then; not exercised here.
 * node --test runs each test file in its own process: this file's require cache is its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine';
import { loadedPackages } from '../helpers/loaded-packages';
import type { ContainerRow } from '../../common/inventory';

const TABLE_PACKAGES = ['ansi-regex', 'cli-table3', 'emoji-regex', 'is-fullwidth-code-point', 'string-width', 'strip-ansi'];

const member = (name: string, role: string, o: Partial<ContainerRow> = {}): ContainerRow => ({
  Names: [`/dbaas-orders-${name}`],
  Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': role, 'dbaas.member': name, ...(role === 'postgres' ? { 'dbaas.spec': JSON.stringify({ profile: 'default', sync: false, etcdMembers: 1, backups: true, postgresVersion: 17 }) } : {}) },
  State: 'running',
  Created: 1_700_000_000,
  // No address on the cluster network: Patroni is not asked (no fake of it here).
  Mounts: role === 'postgres' ? [{ Name: 'dbaas-orders-backup-repo' }] : [],
  ...o,
});

let engine: FakeEngine;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-cli-read-'));

test.before(async () => {
  engine = await startFakeEngine({
    containers: [
      member('pg-0', 'postgres', { Labels: { ...member('pg-0', 'postgres').Labels, 'dbaas.port.direct': '15403' } }),
      member('pg-1', 'postgres'),
      member('etcd-0', 'etcd'),
      member('haproxy', 'haproxy', { Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'haproxy', 'dbaas.member': 'haproxy', 'dbaas.port.base': '15400' } }),
    ],
    networks: [{ Name: 'dbaas-orders', Labels: { 'dbaas.cluster': 'orders' } }],
    volumes: [],
    exec: (_container, cmd) => (cmd[0] === 'df' ? { exitCode: 0, stdout: '    Used      Size\n  1048576 104857600\n' } : { exitCode: 0, stdout: '[]' }),
  });
  fs.mkdirSync(path.join(home, 'secrets'), { recursive: true });
  fs.writeFileSync(path.join(home, 'secrets', 'orders.json'), JSON.stringify({ superuser: 's', replication: 'r', rewind: 'w', pooler: 'p', app: 'app-pass' }));
  process.env.DOCKER_HOST = `unix://${engine.socketPath}`;
  process.env.DBAAS_HOME = home;
  // Refused at once by Temporal's client (it only dials host:port): the worker thread answers null without waiting.
  process.env.TEMPORAL_ADDRESS = 'unix:///nonexistent/temporal.sock';
});

test.after(async () => {
  await engine.close();
  fs.rmSync(home, { recursive: true, force: true });
});

/** What a command prints through console.log. */
async function printed(run: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await run();
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

test('connect loads no package, in its module or in a whole run: the engine over plain HTTP, the secrets from their file', async () => {
  const { connectCommand } = await import('../../client/commands/connect');
  assert.deepEqual(loadedPackages(), [], 'connect imports a module that loads a package: read through activities/hosts/read-only-engine.ts and the light modules');
  const uri = await printed(() => connectCommand('orders', { ro: false, pooled: false, superuser: false }));
  assert.equal(uri, 'postgresql://app:app-pass@127.0.0.1:15400/app?sslmode=disable');
  const direct = await printed(() => connectCommand('orders', { ro: false, pooled: false, superuser: true, member: 'pg-0' }));
  assert.equal(direct, 'postgresql://postgres:s@127.0.0.1:15403/postgres?sslmode=disable');
  assert.deepEqual(loadedPackages(), []);
  assert.ok(engine.requests.includes('GET /containers/json'));
});

test('cluster status loads the table and nothing heavy in this thread (Temporal\'s client loads in its worker thread)', async () => {
  const { statusCommand } = await import('../../client/commands/cluster-status');
  assert.deepEqual(loadedPackages(), TABLE_PACKAGES, 'cluster status imports a module that loads a package beside the table');
  const out = JSON.parse(await printed(() => statusCommand('orders', { json: true }))) as {
    members: { name: string; disk: { usedBytes: number } | null }[]; backups: string; lastBackup: unknown; lastBackupProblem: string | null; operation: unknown; endpoints: { rw: { port: number } };
  };
  assert.deepEqual(out.members.map((m) => [m.name, m.disk?.usedBytes]), [['pg-0', 1048576], ['pg-1', 1048576]], 'df ran in each member through the engine\'s exec');
  assert.equal(out.backups, 'on');
  assert.equal(out.lastBackupProblem, null, 'pgbackrest info ran in a member');
  assert.equal(out.endpoints.rw.port, 15400);
  assert.deepEqual(loadedPackages(), TABLE_PACKAGES, 'a whole status run loads nothing more in this thread');
  assert.ok(engine.requests.includes('POST /exec/exec1/start'));
});
