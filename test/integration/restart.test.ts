/**
 * Rolling restart on one real cluster (a leader and two replicas, fast profile, no backups),
 * through the CLI and a worker in a child process: bad input exits 2 with one line and restarts
 * nothing; `cluster restart` under a read loop through ro and a write loop through rw fails no
 * read, gives every member a new postmaster exactly once, moves the leader once and stops writes
 * once, no longer than a switchover; run again with the worker SIGKILLed while a replica restarts,
 * a new worker finishes it, each member again restarted exactly once. A max_connections decrease
 * set without a restart: `cluster restart` restarts the leader in place first, no switchover, and
 * every member and both poolers follow it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Docker from 'dockerode';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterStatus } from '../../client/cluster-info';
import { readFileIn } from '../../activities/docker';
import { haproxyBackends, serverRows } from '../../activities/haproxy';
import type { Paths } from '../../common/paths';
import { poolSizes } from '../../common/pool-sizes';
import { PGBOUNCER_DIR } from '../../common/render/pgbouncer';
import { containerName } from '../../common/resource-names';
import { PATRONI_API_PORT } from '../../common/service-ports';
import { haWorkflowIds } from '../../common/workflow-ids';
import { waitForExit } from '../helpers/deadline';
import { highestAttempt, retriedActivities, waitForActivityStarted } from '../helpers/history';
import { childEnv, createClusterDirectly, memberIp, queryCluster, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, testClusterName } from '../helpers/integration';
import { startQueryLoop } from '../helpers/query-loop';
import { startTestTemporal } from '../helpers/temporal';
import { createWriterTable, missingIds, startWriter, writeOutage, type WriterStats } from '../helpers/writer';

const docker = new Docker();
const S = testClusterName('restart');
const MEMBERS = ['pg-0', 'pg-1', 'pg-2'];
let env: TestWorkflowEnvironment;
let paths: Paths;
let statsPort = 0;
const workers: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = (...args: string[]) => runCli(args, childEnv(env, paths));

before(async () => {
  await removeLeftoverTestClusters(docker);
  env = await startTestTemporal();
  paths = tempPaths();
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-1.log')));
  ({ statsPort } = await createClusterDirectly(env, { name: S, replicas: 2, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false }));
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  const survivor = startChildWorker(env, paths, path.join(paths.home, 'worker-cleanup.log'));
  await cli('cluster', 'delete', S, '--purge-backups', '--yes');
  survivor.kill('SIGTERM');
  await env?.teardown();
});

async function status(): Promise<ClusterStatus> {
  const r = await cli('cluster', 'status', S, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus;
}

const ips = new Map<string, string>();
/** GET on a member's Patroni API (its address looked up once: a PostgreSQL restart keeps the container). */
async function patroni<T>(member: string, what: string): Promise<T> {
  let ip = ips.get(member);
  if (!ip) {
    ip = await memberIp(docker, S, member);
    if (!ip) throw new Error(`${member} has no address`);
    ips.set(member, ip);
  }
  return (await fetch(`http://${ip}:${PATRONI_API_PORT}/${what}`, { signal: AbortSignal.timeout(2000) })).json() as Promise<T>;
}

const startTime = async (member: string): Promise<string | undefined> =>
  (await patroni<{ postmaster_start_time?: string }>(member, 'patroni').catch(() => undefined))?.postmaster_start_time;

/**
 * Every member's postmaster start times as seen every 100 ms, in order: a restart adds one. A
 * postmaster that runs at all runs for seconds (the roll waits for streaming), so none is missed.
 */
function watchStartTimes(): { stop(): Promise<Map<string, string[]>> } {
  const seen = new Map(MEMBERS.map((m) => [m, [] as string[]]));
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const m of MEMBERS) {
        const t = await startTime(m);
        const times = seen.get(m)!;
        if (t && times[times.length - 1] !== t) times.push(t);
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

function assertRestartedOnce(seen: Map<string, string[]>): void {
  for (const [m, times] of seen) assert.equal(times.length, 2, `${m}: one new postmaster (start times seen: ${times.join(' → ')})`);
}

/** Timeline switches in the leader's history (Patroni /history). */
const switches = async (leader: string): Promise<number> => (await patroni<unknown[]>(leader, 'history')).length;

/** Every member runs, the leader alone is UP on rw, both replicas on ro, nothing left drained. */
async function assertServing(): Promise<string> {
  const s = await status();
  assert.ok(s.members.every((m) => m.state === 'running'), JSON.stringify(s.members));
  const b = await haproxyBackends(statsPort);
  assert.deepEqual(b.rwUp, [s.leader], 'rw UP on the leader only');
  assert.deepEqual([...b.roUp].sort(), MEMBERS.filter((m) => m !== s.leader), 'ro UP on both replicas');
  const rows = serverRows(await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text());
  assert.ok(!rows.some((r) => r.status.startsWith('DRAIN') || r.status.startsWith('MAINT')), 'no server left drained or in maintenance');
  return s.leader as string;
}

/** Pauses between acknowledged writes over 1.5 s (rw down) that ended after `since`. */
const longPauses = (stats: WriterStats, since: number): number[] =>
  stats.ackedAt.slice(1).map((b, k) => (b > since ? b - stats.ackedAt[k]! : 0)).filter((gap) => gap > 1500);

/** How many times the workflow asked for each member's restart (its scheduled restartMember steps). */
async function restartsAsked(handle: WorkflowHandle): Promise<Map<string, number>> {
  const asked = new Map<string, number>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'restartMember') continue;
    const input = JSON.parse(Buffer.from(a.input?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8')) as { member: string };
    asked.set(input.member, (asked.get(input.member) ?? 0) + 1);
  }
  return asked;
}

test('bad input: an unknown member or a malformed one exits 2 with one line and restarts nothing', async () => {
  const before = await Promise.all(MEMBERS.map(startTime));
  const cases: [string, RegExp][] = [
    ['pg-9', new RegExp(`^dbaas: no member pg-9 in ${S} \\(members: pg-0, pg-1, pg-2\\)\\n$`)],
    ['leader', /^dbaas: member must look like pg-N, got "leader"\n$/],
  ];
  for (const [member, re] of cases) {
    const r = await cli('cluster', 'restart', S, '--member', member);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, re);
  }
  assert.deepEqual(await Promise.all(MEMBERS.map(startTime)), before);
});

test('cluster restart under reads through ro and writes through rw: no failed read, each member restarted once, one leader change, writes down once for a switchover', async () => {
  const leaderBefore = await assertServing();
  const switchesBefore = await switches(leaderBefore);
  const rw = (await cli('connect', S)).stdout.trim();
  const ro = (await cli('connect', S, '--ro')).stdout.trim();
  await createWriterTable(rw, 'restart_probe');
  const reads = startQueryLoop(ro, { reconnect: true, intervalMs: 20 });
  const writer = startWriter({ connectionString: rw, table: 'restart_probe', pauseMs: 20 });
  const times = watchStartTimes();
  await sleep(1000);
  const startedAt = Date.now();
  const r = await cli('cluster', 'restart', S);
  const tookS = (Date.now() - startedAt) / 1000;
  await sleep(1000);
  const [readStats, writeStats, seen] = [await reads.stop(), await writer.stop(), await times.stop()];
  assert.equal(r.code, 0, r.stderr + r.stdout);
  console.log(`cluster restart took ${tookS.toFixed(1)} s; ${readStats.ok} reads, ${writeStats.acked.length} writes; stdout:\n${r.stdout}`);

  assert.equal(readStats.failed, 0, `failed reads through ro: ${readStats.errors.join('; ')}`);
  assert.ok(readStats.ok > 100, `the read loop kept reading (${readStats.ok})`);
  assertRestartedOnce(seen);

  const leaderAfter = await assertServing();
  assert.notEqual(leaderAfter, leaderBefore, 'the leader moved');
  assert.equal(await switches(leaderAfter), switchesBefore + 1, 'exactly one timeline switch');
  assert.match(r.stdout, new RegExp(`write downtime: one switchover \\(${leaderBefore} → ${leaderAfter}\\)`));
  assert.match(r.stdout, /^pending restart: none/m);

  // The longest pause between acknowledged writes is the switchover's; every failed write falls
  // within it (none while a replica or the old leader restarted), and no other pause is long.
  const outage = writeOutage(writeStats, startedAt);
  const pauses = longPauses(writeStats, startedAt);
  console.log(`rw write gap: ${outage?.gapMs ?? 0} ms; pauses over 1.5 s: ${pauses.join(', ') || 'none'}; ${writeStats.failed} failed attempts`);
  assert.ok(outage && outage.gapMs < 10_000, `writes were down no longer than a switchover (${outage?.gapMs} ms)`);
  assert.ok(pauses.length <= 1, `writes stopped once: pauses ${pauses.join(', ')} ms`);
  const end = startedAt + outage.resumedMs;
  for (const f of writeStats.failures) assert.ok(f.at >= end - outage.gapMs && f.at <= end, `a write failed outside the switchover: ${f.error}`);
  assert.deepEqual(await missingIds(rw, 'restart_probe', writeStats.acked), [], 'no acknowledged write lost');
});

test('SIGKILL of the worker while a replica restarts: a new worker finishes the run, each member restarted once, one switchover', async () => {
  const leaderBefore = await assertServing();
  const switchesBefore = await switches(leaderBefore);
  // The first replica in member order restarts first.
  const first = MEMBERS.find((m) => m !== leaderBefore) as string;
  const before = await startTime(first);
  const times = watchStartTimes();
  const restarting = cli('cluster', 'restart', S);
  const handle = env.client.workflow.getHandle(haWorkflowIds.restart(S));
  const target = { type: 'restartMember', inputIncludes: `"member":"${first}"` };
  await waitForActivityStarted(handle, target, 120_000);
  // Kill once Patroni acts on the request (its PostgreSQL stops), so the new worker finds it under way or done.
  const underWay = async (): Promise<boolean> =>
    (await patroni<{ state?: string }>(first, 'patroni').catch(() => undefined))?.state !== 'running' || (await startTime(first)) !== before;
  for (let i = 0; i < 100 && !(await underWay()); i++) await sleep(50);
  const killed = workers[workers.length - 1]!;
  killed.kill('SIGKILL');
  const killedAt = Date.now();
  await waitForExit(killed, 30_000, 'the SIGKILLed worker did not exit');
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-2.log')));

  const r = await restarting;
  const seen = await times.stop();
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const retried = await retriedActivities(handle);
  console.log(`finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the SIGKILL; retried: ${retried.join(', ') || 'nothing'}`);
  // The kill lands in the restart step or, when Patroni's restart was quick, in a later step of the
  // roll (the wait for streaming, putting it back in ro, or the next member's drain): either way the
  // new worker took the run over in the middle of the roll.
  const takenOver = (await highestAttempt(handle, target)) >= 2 || retried.length > 0;
  assert.ok(takenOver, `the new worker took the roll over (retried: ${retried.join(', ') || 'nothing'})`);
  // Each replica's restart was asked for once; the old leader's demote is its restart (asked at most once if not).
  const asked = await restartsAsked(handle);
  for (const m of MEMBERS.filter((x) => x !== leaderBefore)) assert.equal(asked.get(m), 1, `${m}: its restart asked for once`);
  assert.ok((asked.get(leaderBefore) ?? 0) <= 1, `the old leader: restarted by its demote, or asked for once (${asked.get(leaderBefore) ?? 0})`);
  assertRestartedOnce(seen);
  const leaderAfter = await assertServing();
  assert.notEqual(leaderAfter, leaderBefore);
  assert.equal(await switches(leaderAfter), switchesBefore + 1, 'exactly one timeline switch');
});

test('max_connections lowered without a restart: cluster restart restarts the leader in place first (no switchover), every member runs it, the poolers fit it', async () => {
  const leader = await assertServing();
  const set = await cli('cluster', 'config', 'set', S, 'max_connections=60');
  assert.equal(set.code, 0, set.stderr + set.stdout);
  assert.match(set.stdout, /^max_connections=60: pending restart/m);
  const r = await cli('cluster', 'restart', S);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`^${leader}: restarted in place first `, 'm'));
  assert.match(r.stdout, new RegExp(`write downtime: ${leader} restarted in place first`));
  assert.match(r.stdout, /^pending restart: none/m);
  assert.equal(await assertServing(), leader, 'the leader stays: no switchover');
  for (const m of MEMBERS) {
    const [row] = await queryCluster<{ max_connections: string }>(childEnv(env, paths), S, 'show max_connections', ['--member', m]);
    assert.equal(row?.max_connections, '60', m);
  }
  const pool = poolSizes({ maxConnections: 60, reservedConnections: 3 });
  for (const kind of ['rw', 'ro']) {
    const ini = await readFileIn(docker, containerName(S, `pgbouncer-${kind}`), `${PGBOUNCER_DIR}/pgbouncer.ini`);
    assert.match(ini ?? '', new RegExp(`^default_pool_size = ${pool.defaultPoolSize}\nreserve_pool_size = ${pool.reservePoolSize}$`, 'm'), `pgbouncer-${kind}`);
  }
});
