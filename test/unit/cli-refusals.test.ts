/**
 * The CLI refuses impossible times and bad crons with one line and exit 2 before it contacts
 * anything: Docker and Temporal point at addresses where nothing listens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../common/paths';

const env = {
  ...process.env,
  DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-cli-refusals-')),
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  DOCKER_HOST: 'unix:///nonexistent/docker.sock',
};

function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'dbaas.js'), ...args], { env, timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr });
    });
  });
}

test('impossible --to-time and --at, and bad crons: one line, exit 2, nothing contacted', async () => {
  for (const args of [
    ['restore', 'orders', '--into', 'orders-before', '--to-time', '2026-02-30 10:00:00+00'],
    ['restore', 'orders', '--into', 'orders-before', '--to-time', '2025-02-29 10:00:00+00'],
    ['restore', 'orders', '--into', 'orders-before', '--to-time', '2026-01-01 25:61:00+00'],
    ['switchover', 'orders', '--at', '2030-02-30T02:00:00Z'],
    ['switchover', 'orders', '--at', '2030-13-01T24:00:00Z'],
    ['backup', 'schedule', 'orders', '--cron', '61 3 * * *'],
    ['backup', 'schedule', 'orders', '--cron', '0 3 * * 1#2'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Docker|Temporal/, 'refused before contacting anything');
  }
});

test('host add/remove/drain and create --replace-after refuse bad names, sockets over the network, unreachable engines and host local: one line, exit 2, no host file written', async () => {
  for (const [args, said] of [
    [['host', 'add', 'Bad_Name', '--docker', 'unix:///run/h.sock'], /host name/],
    [['host', 'add', 'local', '--docker', 'unix:///run/h.sock'], /always there/],
    [['host', 'add', 'h1', '--docker', 'tcp://10.0.0.5:2375'], /never over the network/],
    [['host', 'add', 'h1', '--docker', 'unix:///run/h.sock', '--address', '10.0.0.300'], /IPv4/],
    [['host', 'add', 'h1', '--docker', 'unix:///run/h.sock', '--zone', 'Zone A'], /--zone/],
    [['host', 'add', 'h1', '--docker', 'unix:///nonexistent/h1.sock'], /cannot reach Docker at unix:\/\/\/nonexistent\/h1.sock/],
    [['host', 'remove', 'local'], /cannot be removed/],
    [['host', 'remove', 'h9'], /no host named h9/],
    [['host', 'drain', 'local'], /only added hosts are drained/],
    [['host', 'drain', 'h9'], /no host named h9/],
    [['cluster', 'create', 'orders', '--replace-after', '5x'], /--replace-after takes a duration/],
    [['cluster', 'create', 'orders', '--replace-after', '3s'], /--replace-after must be 0 \(never\) or from 10 s/],
  ] as const) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, said);
  }
  assert.equal(fs.existsSync(path.join(env.DBAAS_HOME, 'hosts.json')), false, 'nothing was written');
});
