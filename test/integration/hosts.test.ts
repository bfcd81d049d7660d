/**
 * Hosts: three simulated hosts (a dockerd each, in its own network namespace) added by
 * `dev hosts up`, each with its worker polling its own task queue from inside its namespace;
 * `host list` as an operator reads it; a cluster across the three (one member of each kind per
 * host, a front door on each); the leader's host crashes under a writer; `host remove` refused
 * while a host runs a member; `dev hosts down` leaves nothing. The main engine never joins the swarm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { childEnv, runCli, startChildWorker, tempPaths, testClusterName } from '../helpers/integration';
import type { ClusterStatus } from '../../client/cluster-info';
import { labels } from '../../common/labels';
import type { HostView } from '../../client/commands/host';

/** The images a cluster's members run (no backups across hosts yet: no repository image). */
const SIM_IMAGES = 'debian:bookworm-slim dbaas/postgres:local dbaas/etcd:local dbaas/haproxy:local dbaas/pgbouncer:local';
let env: TestWorkflowEnvironment;
let cli: NodeJS.ProcessEnv;
/** The control worker (shared queue, every host's engine by socket), as `dev up` runs it. */
let control: ChildProcess | undefined;
const SPREAD = testClusterName('spread');
/** A small image for a stand-in container. */
const SLIM = 'debian:bookworm-slim';
/** Set once this file found no simulated hosts of anyone else: only then does it tear hosts down. */
let ours = false;
const netns = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => /^dbaas-h\d+$/.test(n));
const mainSwarm = (): string => execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8' }).trim();
const hostList = async (): Promise<HostView[]> => JSON.parse((await runCli(['host', 'list', '--json'], cli)).stdout) as HostView[];

before(async () => {
  assert.deepEqual(netns(), [], 'simulated hosts of someone else are up (`dbaas dev hosts down` first): this test makes its own');
  ours = true;
  env = await startTestTemporal();
  const paths = tempPaths();
  cli = { ...childEnv(env, paths), DBAAS_SIM_IMAGES: SIM_IMAGES };
  control = startChildWorker(env, paths, path.join(paths.home, 'worker.log'));
});

after(async () => {
  // Down takes every host's engine and data root with it, a crashed host's too (and the cluster a failed test left there).
  if (ours) await runCli(['dev', 'hosts', 'down'], cli);
  control?.kill('SIGTERM');
  await env?.teardown();
});

/** One SQL text through psql (libpq takes multi-host URIs, node-postgres does not): its -At output. */
function psqlAt(uri: string, sql: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('psql', [uri, '-XAtqc', sql], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: err ? stderr : stdout.trim() }));
  });
}

/** scripts/sim-hosts.sh, as `dev hosts` runs it: crash (link down, every process of the host SIGKILLed), revive (its engine restarts). */
const simHosts = (...args: string[]): string => execFileSync('bash', [path.join(__dirname, '..', '..', '..', 'scripts', 'sim-hosts.sh'), ...args], { encoding: 'utf8' });

const engineOf = (k: number): Docker => new Docker({ socketPath: `/var/lib/dbaas-sim/h${k}/docker.sock` });

/** The cluster's containers on host hK, by name without the `dbaas-CLUSTER-` prefix. */
async function clusterContainersOn(k: number, cluster: string): Promise<string[]> {
  const cs = await engineOf(k).listContainers({ all: true, filters: { label: [`dbaas.cluster=${cluster}`] } });
  return cs.map((c) => c.Names[0].replace(`/dbaas-${cluster}-`, '')).sort();
}

const status = async (cluster: string): Promise<ClusterStatus> => JSON.parse((await runCli(['cluster', 'status', cluster, '--json'], cli)).stdout) as ClusterStatus;

test('dev hosts up 3: three hosts with an address, a zone, an engine that answers and a worker on each own queue; the main engine stays out of the swarm', async () => {
  const up = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.deepEqual(netns().sort(), ['dbaas-h1', 'dbaas-h2', 'dbaas-h3']);
  let views = await hostList();
  // A worker's first poll reaches Temporal a moment after it starts.
  for (let i = 0; i < 30 && views.some((v) => v.name !== 'local' && v.worker !== 'polling'); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    views = await hostList();
  }
  const added = views.filter((v) => v.name !== 'local');
  assert.deepEqual(added.map((v) => [v.name, v.address, v.zone, v.state, v.worker]), [
    ['h1', '10.77.0.11', 'zone-1', 'up', 'polling'],
    ['h2', '10.77.0.12', 'zone-2', 'up', 'polling'],
    ['h3', '10.77.0.13', 'zone-3', 'up', 'polling'],
  ]);
  // Three engines of their own: each knows only its own containers and has its own name.
  const names = new Set<string>();
  for (const v of added) names.add((await new Docker({ socketPath: v.docker.replace('unix://', '') }).info()).Name);
  assert.equal(names.size, 3);
  assert.equal(mainSwarm(), 'inactive', 'the main engine never joins the swarm (it would lose its containers\' DNS names)');
  const again = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(again.code, 0, 'up again is a no-op: ' + again.stderr);
  assert.equal((await hostList()).length, 4);
});

test('not enough hosts for one member per host, or backups across hosts: exit 2 before anything starts', async () => {
  const tooMany = await runCli(['cluster', 'create', SPREAD, '--replicas', '3', '--no-backups'], cli);
  assert.equal(tooMany.code, 2, tooMany.stderr);
  assert.match(tooMany.stderr, /4 Postgres and 1 etcd members need 4 hosts .* 3 are available \(h1, h2, h3\).*--allow-colocate/);
  const backups = await runCli(['cluster', 'create', SPREAD, '--replicas', '2'], cli);
  assert.equal(backups.code, 2);
  assert.match(backups.stderr, /backups of a cluster on added hosts are not built yet: pass --no-backups/);
  for (const k of [1, 2, 3]) assert.deepEqual(await clusterContainersOn(k, SPREAD), [], `nothing on h${k}`);
});

test('a cluster across three hosts: one Postgres and one etcd member per host, a front door on each; rw through the multi-host URI, read back through ro', async () => {
  const created = await runCli(['cluster', 'create', SPREAD, '--replicas', '2', '--etcd', '3', '--sync', '--profile', 'fast', '--no-backups'], cli);
  assert.equal(created.code, 0, created.stderr + created.stdout);
  // `docker ps` on each engine: what an operator of that machine sees.
  const front = ['haproxy', 'pgbouncer-ro', 'pgbouncer-rw'];
  assert.deepEqual(await clusterContainersOn(1, SPREAD), ['etcd-0', ...front, 'pg-0'].sort());
  assert.deepEqual(await clusterContainersOn(2, SPREAD), ['etcd-1', ...front, 'pg-1'].sort());
  assert.deepEqual(await clusterContainersOn(3, SPREAD), ['etcd-2', ...front, 'pg-2'].sort());
  const s = await status(SPREAD);
  assert.deepEqual(s.members.map((m) => [m.name, m.host]), [['pg-0', 'h1'], ['pg-1', 'h2'], ['pg-2', 'h3']]);
  assert.deepEqual(s.endpoints?.hosts, ['10.77.0.11', '10.77.0.12', '10.77.0.13']);
  const rw = (await runCli(['connect', SPREAD], cli)).stdout.trim();
  assert.match(rw, /@10\.77\.0\.11:\d+,10\.77\.0\.12:\d+,10\.77\.0\.13:\d+\/app\?sslmode=verify-full.*target_session_attrs=read-write/);
  const made = await psqlAt(rw, 'create table spread (id int primary key); insert into spread values (1); select 1');
  assert.ok(made.ok, made.out);
  const ro = (await runCli(['connect', SPREAD, '--ro'], cli)).stdout.trim();
  let read = { ok: false, out: '' };
  for (let i = 0; i < 40 && read.out !== '1|t'; i++) {
    read = await psqlAt(ro, 'select (select count(*) from spread), pg_is_in_recovery()');
    if (read.out !== '1|t') await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(read.out, '1|t', 'the row, read on a replica through ro');
});

test('the leader\'s host crashes under a writer: writes resume through a surviving front door, no acknowledged row is lost (sync), the old leader comes back as a replica', async (t) => {
  // The leader onto the synchronous standby's host first (h2 or h3) with `dbaas switchover`: h1 is
  // the swarm manager, and with it gone no host could attach new containers.
  const before = await status(SPREAD);
  const standby = before.members.find((m) => m.role === 'sync_standby');
  assert.ok(standby && standby.host !== 'h1', `a synchronous standby off h1: ${JSON.stringify(before.members.map((m) => [m.name, m.host, m.role]))}`);
  const k = Number(standby.host.slice(1));
  const switched = await runCli(['switchover', SPREAD, '--to', standby.name], cli);
  assert.equal(switched.code, 0, switched.stderr + switched.stdout);
  for (let i = 0; i < 60 && (await status(SPREAD)).leader !== standby.name; i++) await new Promise((r) => setTimeout(r, 500));
  assert.equal((await status(SPREAD)).leader, standby.name);
  const rw = (await runCli(['connect', SPREAD], cli)).stdout.trim();
  const acked: number[] = [];
  let failedAfterCrash = 0;
  let crashedAt = 0;
  let resumedAt = 0;
  // Only a write that starts after the crash proves the resumption: the old leader's processes are dead by then.
  const writer = (async () => {
    for (let id = 2; ; id++) {
      const startedAfterCrash = crashedAt > 0;
      const r = await psqlAt(rw, `insert into spread values (${id}) returning id`);
      if (r.ok) {
        acked.push(id);
        if (startedAfterCrash && !resumedAt) resumedAt = Date.now();
        if (resumedAt && Date.now() - resumedAt > 2000) return;
      } else if (startedAfterCrash) {
        failedAfterCrash++;
      }
      if (crashedAt && Date.now() - crashedAt > 120_000) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // Writes go to the new leader through the front door before the crash.
  for (let i = 0; i < 100 && acked.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
  crashedAt = Date.now();
  simHosts('crash', String(k));
  await writer;
  assert.ok(resumedAt > 0, `writes resumed within 120 s of the crash (${failedAfterCrash} failed attempts)`);
  t.diagnostic(`writes resumed ${((resumedAt - crashedAt) / 1000).toFixed(1)} s after h${k} crashed (fast profile; ${failedAfterCrash} attempts failed meanwhile, each up to ${3 * 3} s)`);
  const s = await status(SPREAD);
  assert.deepEqual(s.unreachableHosts, [standby.host]);
  assert.ok(s.leader !== null && s.leader !== standby.name, `a leader on a surviving host: ${s.leader}`);
  // Every acknowledged row is there (synchronous mode: the promoted standby had them all).
  const rows = await psqlAt(rw, 'select id from spread order by id');
  const have = new Set(rows.out.split('\n').map(Number));
  assert.deepEqual(acked.filter((id) => !have.has(id)), [], 'acknowledged rows lost');
  // The host comes back (its engine restarts its containers): the old leader rejoins as a replica, never a second leader.
  simHosts('revive', String(k));
  // Its worker died with it: `dev hosts up` starts the host workers again (the hosts are up).
  const workers = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(workers.code, 0, workers.stderr);
  let back: ClusterStatus | undefined;
  for (let i = 0; i < 120; i++) {
    back = await status(SPREAD);
    const old = back.members.find((m) => m.name === standby.name)?.role;
    if (back.unreachableHosts.length === 0 && (old === 'replica' || old === 'sync_standby')) break;
    assert.notEqual(old, 'leader', 'the old leader never leads again on its own');
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.match(back?.members.find((m) => m.name === standby.name)?.role ?? '', /^(replica|sync_standby)$/);
  assert.equal(back?.leader, s.leader);
  const after = await psqlAt(rw, 'insert into spread values (100000) returning id');
  assert.ok(after.ok, after.out);
});

test('replica add and remove on a cluster across hosts: the new member on an added host, in service behind every front door, then gone from all of them', async () => {
  const added = await runCli(['replica', 'add', SPREAD], cli);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  const s = await status(SPREAD);
  const pg3 = s.members.find((m) => m.name === 'pg-3');
  assert.ok(pg3 && /^h[123]$/.test(pg3.host), `pg-3 on an added host: ${JSON.stringify(pg3)}`);
  assert.ok((await clusterContainersOn(Number(pg3.host.slice(1)), SPREAD)).includes('pg-3'), `docker ps on ${pg3.host} shows pg-3`);
  // Each front door's HAProxy has pg-3 UP in ro (its stats, as Prometheus would scrape them).
  assert.ok(s.endpoints);
  for (const address of s.endpoints.hosts) {
    const csv = await (await fetch(`http://${address}:${new URL(s.endpoints.stats.url).port}/;csv`)).text();
    const row = csv.split('\n').find((l) => l.startsWith('ro,pg-3,'));
    assert.match(row ?? '', /,UP/, `pg-3 in ro at ${address}: ${row}`);
  }
  // And out again: gone from its host, its volume too, and from every front door.
  const removed = await runCli(['replica', 'remove', SPREAD, 'pg-3'], cli);
  assert.equal(removed.code, 0, removed.stderr + removed.stdout);
  const k = Number(pg3.host.slice(1));
  assert.ok(!(await clusterContainersOn(k, SPREAD)).includes('pg-3'));
  assert.deepEqual(((await engineOf(k).listVolumes({ filters: { label: [`dbaas.member=pg-3`, `dbaas.cluster=${SPREAD}`] } })).Volumes ?? []).map((v) => v.Name), []);
  for (const address of s.endpoints.hosts) {
    const csv = await (await fetch(`http://${address}:${new URL(s.endpoints.stats.url).port}/;csv`)).text();
    assert.ok(!csv.includes('pg-3'), `pg-3 out of HAProxy at ${address}`);
  }
});

test('delete of a cluster across hosts leaves nothing on any engine', async () => {
  const deleted = await runCli(['cluster', 'delete', SPREAD, '--yes'], cli);
  assert.equal(deleted.code, 0, deleted.stderr + deleted.stdout);
  for (const k of [1, 2, 3]) {
    const e = engineOf(k);
    const f = { label: [`dbaas.cluster=${SPREAD}`] };
    assert.deepEqual(await clusterContainersOn(k, SPREAD), [], `containers on h${k}`);
    assert.deepEqual((await e.listVolumes({ filters: f })).Volumes ?? [], [], `volumes on h${k}`);
    assert.deepEqual(await e.listNetworks({ filters: f }), [], `networks on h${k}`);
  }
});

test('host remove refuses a host that runs a member, and removes it once it runs nothing', async () => {
  const h2 = (await hostList()).find((v) => v.name === 'h2');
  assert.ok(h2);
  const engine = new Docker({ socketPath: h2.docker.replace('unix://', '') });
  const cluster = testClusterName('hosts');
  // What a member looks like to the inventory: a container labelled with a cluster and a role.
  const c = await engine.createContainer({ name: `dbaas-${cluster}-etcd-0`, Image: SLIM, Cmd: ['sleep', '600'], Labels: labels(cluster, 'etcd', 'etcd-0') });
  await c.start();
  try {
    assert.deepEqual((await hostList()).find((v) => v.name === 'h2')?.members, { [cluster]: 1 });
    const refused = await runCli(['host', 'remove', 'h2'], cli);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`host h2 runs members of ${cluster} \\(1\\)`));
  } finally {
    await c.remove({ force: true });
  }
  const removed = await runCli(['host', 'remove', 'h2'], cli);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual((await hostList()).map((v) => v.name), ['local', 'h1', 'h3']);
});

test('dev hosts down: no host left in the list, no namespace, no state directory', async () => {
  const down = await runCli(['dev', 'hosts', 'down'], cli);
  assert.equal(down.code, 0, down.stderr + down.stdout);
  assert.deepEqual((await hostList()).map((v) => v.name), ['local']);
  assert.deepEqual(netns(), []);
  assert.equal(fs.existsSync('/var/lib/dbaas-sim/h1'), false);
  assert.equal(mainSwarm(), 'inactive');
});
