/**
 * `dbaas logs` and the disk column of `cluster status` on one real cluster (pg-0 leader, pg-1,
 * fast profile, no backups), through the CLI and the test's own worker: after a switchover
 * the merged log shows the old leader's demotion and the new leader's promotion in time order,
 * each line behind its member/component; --grep, --since, --member and --component filter; bad
 * input exits 2 with one line; a stopped member's logs are still there and its disk shows as
 * unknown while the running member's volume use is read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { ClusterStatus } from '../../client/cluster-info';
import type { VolumeUse } from '../../common/volume-use';
import type { LastBackup } from '../../common/backup-age';
import { containerName } from '../../common/resource-names';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const S = testClusterName('logs');
let it: IntegrationEnv;
/** Just before the switchover: what --since cuts at. */
let switchedAt = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = (...args: string[]) => runCli(args, childEnv(it.env, it.paths));

interface JsonLine { time: string; member: string; host: string; component: string; line: string }

async function logsJson(...args: string[]): Promise<JsonLine[]> {
  const r = await cli('logs', S, '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JsonLine);
}

/** Where the first line of `member/component` matching `re` is (-1: none). */
const indexOf = (lines: JsonLine[], member: string, component: string, re: RegExp): number =>
  lines.findIndex((l) => l.member === member && l.component === component && re.test(l.line));

// Lines Patroni (3.0.2 and 4.0.7, ha.py) and PostgreSQL (15, 17) print on a switchover.
const DEMOTING = /Demoting self \(graceful\)/;
const PROMOTED = /promoted self to leader by acquiring session lock/;
const READ_WRITE = /database system is ready to accept connections/;
const READ_ONLY = /database system is ready to accept read-only connections/;
const BOOTSTRAPPED = /initialized a new cluster/;

before(async () => {
  it = await startIntegration(docker);
  await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
  // Docker's log times and this machine's clock are the same clock; a second apart keeps the bootstrap's lines before it.
  await sleep(1000);
  switchedAt = new Date().toISOString();
  const r = await cli('switchover', S, '--to', 'pg-1');
  assert.equal(r.code, 0, r.stderr + r.stdout);
});

after(async () => {
  await it?.stop([S]);
});

test('after a switchover: the old leader demotes, then the new one promotes and serves writes, the old one serves reads, all in time order', async () => {
  let lines: JsonLine[] = [];
  // The old leader comes back as a replica a moment after the workflow ends.
  for (let i = 0; i < 60; i++) {
    lines = await logsJson();
    if (indexOf(lines, 'pg-1', 'postgres', READ_WRITE) >= 0 && indexOf(lines, 'pg-0', 'postgres', READ_ONLY) >= 0) break;
    await sleep(1000);
  }
  const times = lines.map((l) => Date.parse(l.time));
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]), 'lines in time order');
  for (const k of ['pg-0/patroni', 'pg-0/postgres', 'pg-1/patroni', 'pg-1/postgres']) assert.ok(lines.some((l) => `${l.member}/${l.component}` === k), `${k} has lines`);

  const demoting = indexOf(lines, 'pg-0', 'patroni', DEMOTING);
  const promoted = indexOf(lines, 'pg-1', 'patroni', PROMOTED);
  const writable = indexOf(lines, 'pg-1', 'postgres', READ_WRITE);
  const readOnly = indexOf(lines, 'pg-0', 'postgres', READ_ONLY);
  console.log(lines.slice(Math.max(0, demoting - 2), Math.max(writable, readOnly) + 2).map((l) => `${l.time} ${l.member}/${l.component} ${l.line}`).join('\n'));
  assert.ok(demoting >= 0, 'pg-0 (Patroni) demotes itself');
  assert.ok(promoted > demoting, 'pg-1 (Patroni) promotes itself after pg-0 demoted');
  assert.ok(writable > promoted, 'pg-1 (PostgreSQL) accepts writes after the promotion');
  assert.ok(readOnly > demoting, 'pg-0 (PostgreSQL) is back as a read-only replica after the demotion');
  assert.ok(indexOf(lines, 'pg-0', 'patroni', BOOTSTRAPPED) >= 0 && indexOf(lines, 'pg-0', 'patroni', BOOTSTRAPPED) < demoting, 'the bootstrap is there, before');

  // The text form: each line behind member/component.
  const text = await cli('logs', S);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^pg-1\/patroni +\S.*promoted self to leader by acquiring session lock$/m);
  assert.match(text.stdout, /^pg-0\/patroni +\S.*Demoting self \(graceful\)$/m);
  assert.match(text.stdout, /^pg-1\/postgres +\S.*database system is ready to accept connections$/m);
});

test('--grep, --since, --member and --component filter', async () => {
  const all = await logsJson();
  const grep = await logsJson('--grep', 'promoted self to leader|Demoting self');
  assert.ok(grep.length >= 2 && grep.length < all.length, `${grep.length} of ${all.length} lines`);
  assert.ok(grep.every((l) => /promoted self to leader|Demoting self/.test(l.line)));
  assert.ok(indexOf(grep, 'pg-0', 'patroni', DEMOTING) < indexOf(grep, 'pg-1', 'patroni', PROMOTED));

  const since = await logsJson('--since', switchedAt);
  assert.ok(since.every((l) => Date.parse(l.time) >= Date.parse(switchedAt)), 'nothing before --since');
  assert.ok(indexOf(since, 'pg-1', 'patroni', PROMOTED) >= 0, 'the promotion is after --since');
  assert.equal(indexOf(since, 'pg-0', 'patroni', BOOTSTRAPPED), -1, 'the bootstrap is before --since');
  assert.ok(indexOf(await logsJson('--since', '10m'), 'pg-0', 'patroni', DEMOTING) >= 0, '--since 10m reaches the switchover');

  const pg1 = await logsJson('--member', 'pg-1', '--component', 'postgres');
  assert.ok(pg1.length > 0 && pg1.every((l) => l.member === 'pg-1' && l.component === 'postgres'));
  const etcd = await logsJson('--component', 'etcd');
  assert.ok(etcd.length > 0 && etcd.every((l) => l.member === 'etcd-0' && l.component === 'etcd'));
});

test('bad input: one line, exit 2', async () => {
  for (const [args, said] of [
    [['logs', S, '--member', 'nosuch'], /no member nosuch/],
    [['logs', S, '--component', 'kernel'], /--component/],
    [['logs', S, '--member', 'etcd-0', '--component', 'postgres'], /writes no postgres lines/],
    [['logs', S, '--since', 'yesterday'], /--since/],
    [['logs', S, '--grep', '(unclosed'], /--grep/],
    [['logs', 't-nosuch-cluster'], /no cluster named/],
  ] as [string[], RegExp][]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, said);
    assert.equal(r.stdout, '');
  }
});

test('cluster status: disk use of every running member; a stopped member shows none, and its logs are still there', async () => {
  const status = async (): Promise<ClusterStatus & { members: { disk: VolumeUse | null }[]; lastBackup: LastBackup | null }> => {
    const r = await cli('cluster', 'status', S, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const s = await status();
  assert.equal(s.members.length, 2);
  for (const m of s.members) assert.ok(m.disk && m.disk.usedBytes > 0 && m.disk.sizeBytes >= m.disk.usedBytes, `${m.name}: ${JSON.stringify(m.disk)}`);
  assert.equal(s.lastBackup, null, 'no backups on this cluster');
  const text = await cli('cluster', 'status', S);
  assert.match(text.stdout, /\bdisk\b/);
  assert.match(text.stdout, /\d+\.\d (KiB|MiB|GiB) of \d+\.\d (MiB|GiB|TiB) \(\d+%\)/);

  // The replica (pg-0 now) stopped: its disk is unknown while it is down (the watch may start it again: judge by its state).
  await docker.getContainer(containerName(S, 'pg-0')).stop({ t: 30 });
  const stopped = await status();
  for (const m of stopped.members) {
    if (m.container.state === 'running') assert.ok(m.disk, `${m.name} runs: its disk is read`);
    else assert.equal(m.disk, null, `${m.name} is ${m.container.state}: no disk`);
  }
  const lines = await logsJson('--member', 'pg-0');
  assert.ok(indexOf(lines, 'pg-0', 'patroni', DEMOTING) >= 0, "a stopped member's lines are still shown");
});
