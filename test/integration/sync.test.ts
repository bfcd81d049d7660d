/**
 * HA settings on a running cluster and durability across failover: set-profile (default → fast)
 * and set-sync reach every member; in synchronous mode, no acknowledged COMMIT is lost when the
 * leader is SIGKILLed (3 failovers); in async mode the same harness reports the loss.
 *
 * `docker kill -s KILL` (the API kill) does not trigger the unless-stopped restart policy
 * (Docker 20.10 counts it as a manual stop), so the old leader stays down until the test starts
 * it again: a real failover, then the old leader rejoins (pg_rewind) as a replica.
 */
import { after, before, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { containerName, HAPROXY_MEMBER } from '../../common/resource-names';
import { HAPROXY_CONFIG_PATH, renderHaproxyConfig } from '../../common/render/haproxy';
import { PROFILES, profileTiming, type ConnectionInfo } from '../../common/spec';
import { DEFAULT_POSTGRES_VERSION } from '../../common/postgres-version';
import { readFileIn } from '../../activities/docker';
import { describeCluster } from '../../activities/cluster';
import { clusterAccess } from '../../activities/cluster-access';
import { memberLeaseTtls, type DcsSettingsView } from '../../activities/dcs-config';
import { haproxyBackends } from '../../activities/haproxy';
import { clusterView, memberApi } from '../../activities/patroni';
import { getPatroni } from '../../activities/patroni-api';
import type { ClusterStatus } from '../../client/cluster-info';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv, memberIp } from '../helpers/integration';
import { createWriterTable, missingIds, startWriter, writeOutage } from '../helpers/writer';

const docker = new Docker();
const S = testClusterName('sync');
const MEMBERS = ['pg-0', 'pg-1', 'pg-2'];
let it: IntegrationEnv;
let info: ConnectionInfo;
let rwUri: string;

before(async () => {
  it = await startIntegration(docker);
  // Created with the default profile and async, so set-profile and set-sync have work to do.
  info = await it.createCluster({ name: S, replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false });
  const r = await runCli(['connect', S], childEnv(it.env, it.paths));
  assert.equal(r.code, 0, r.stderr);
  rwUri = r.stdout.trim();
});

after(async () => {
  await it?.stop([S]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(): Promise<ClusterStatus & { settings: DcsSettingsView | null }> {
  const r = await runCli(['cluster', 'status', S, '--json'], childEnv(it.env, it.paths));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus & { settings: DcsSettingsView | null };
}

/**
 * Healthy: 3 members running, replicas streaming from the leader with lag under 1 MiB, HAProxy
 * rw on the leader and ro on both replicas, and (sync) a synchronous standby PostgreSQL reports
 * as `sync`. Returns the leader.
 */
async function waitHealthy(sync: boolean, timeoutMs = 150_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const view = (await clusterView(localInventory(docker), S, MEMBERS)) ?? [];
      const leader = view.find((m) => m.role === 'leader' && m.state === 'running');
      const api = leader && (await memberApi(localInventory(docker), S, leader.name));
      const rows = api ? (await getPatroni(api)).replication : [];
      const b = await haproxyBackends(info.ports.stats);
      const replicasOk = view.length === 3 && view.every((m) => m === leader || (m.state === 'running' && m.lag !== undefined && m.lag < 1 << 20));
      const streaming = rows.filter((r) => r.state === 'streaming').length === 2;
      const syncOk = !sync || (view.some((m) => m.role === 'sync_standby') && rows.some((r) => r.sync_state === 'sync'));
      const haOk = leader !== undefined && b.rwUp.length === 1 && b.rwUp[0] === leader.name && b.roUp.length === 2;
      if (leader && replicasOk && streaming && syncOk && haOk) return leader.name;
      last = `members ${view.map((m) => `${m.name}=${m.role}/${m.state}/lag ${m.lag ?? '?'}`).join(' ')}; ` +
        `replication ${rows.map((r) => `${r.application_name}:${r.state}/${r.sync_state ?? ''}`).join(' ')}; rw [${b.rwUp}] ro [${b.roUp}]`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`cluster not healthy after ${timeoutMs} ms: ${last}`);
}

interface RoundResult {
  killed: string;
  newLeader: string;
  acked: number;
  lost: number[];
  failoverMs: number | undefined;
}

/**
 * One round: write numbered rows through rw, SIGKILL the leader, keep writing until commits
 * return again (on the new leader), then check every acknowledged id through rw; start the
 * killed member again so it rejoins as a replica.
 */
async function killLeaderRound(table: string, sync: boolean): Promise<RoundResult> {
  const killed = await waitHealthy(sync);
  const killedIp = await memberIp(docker, S, killed);
  await createWriterTable(rwUri, table);
  const w = startWriter({ connectionString: rwUri, table });
  let killedAt = 0;
  try {
    await w.waitForAcks(50, 0, 30_000);
    killedAt = Date.now();
    await docker.getContainer(containerName(S, killed)).kill({ signal: 'SIGKILL' });
    // Commits return again once rw reaches the new leader; write a little longer on it.
    await w.waitForAcks(1, killedAt + 500, 120_000);
    await w.waitForAcks(20, Date.now(), 30_000);
  } finally {
    await w.stop();
  }
  const { Client } = await import('pg');
  const c = new Client({ connectionString: rwUri, connectionTimeoutMillis: 5000 });
  await c.connect();
  const who = await c.query<{ addr: string; rec: boolean }>('select host(inet_server_addr()) as addr, pg_is_in_recovery() as rec');
  await c.end();
  assert.equal(who.rows[0].rec, false, 'rw reaches a leader');
  assert.notEqual(who.rows[0].addr, killedIp, 'rw reaches the new leader, not the killed one');
  const lost = await missingIds(rwUri, table, w.stats.acked);
  const view = (await clusterView(localInventory(docker), S, MEMBERS)) ?? [];
  const newLeader = view.find((m) => m.role === 'leader')?.name ?? '?';
  // Back as a replica (Patroni rewinds it) for the next round.
  await docker.getContainer(containerName(S, killed)).start();
  return { killed, newLeader, acked: w.stats.acked.length, lost, failoverMs: writeOutage(w.stats, killedAt)?.resumedMs };
}

test('set-profile fast: every member runs with the new timing, HAProxy checks follow, status shows it', async () => {
  const e = childEnv(it.env, it.paths);
  assert.equal((await status()).settings?.profile, 'default');
  const started = Date.now();
  const r = await runCli(['cluster', 'set-profile', S, 'fast'], e);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  console.log(`set-profile fast took ${Date.now() - started} ms: ${r.stdout.trim().split('\n').slice(-2).join(' | ')}`);
  assert.match(r.stdout, /profile fast \(was default\).*applied by pg-0, pg-1, pg-2/);
  // Each member's own Patroni renewed its etcd lease with the new ttl.
  const leases = await memberLeaseTtls(localInventory(docker), S, MEMBERS, clusterAccess(it.paths, S).etcdUser);
  // On 17 (the default) Patroni 4 raises fast's ttl to its minimum, 20 s (common/postgres-version.ts).
  const fast = profileTiming('fast', DEFAULT_POSTGRES_VERSION);
  assert.deepEqual([...leases.values()], [fast.ttl, fast.ttl, fast.ttl]);
  const cfg = await readFileIn(docker, containerName(S, HAPROXY_MEMBER), HAPROXY_CONFIG_PATH);
  assert.equal(cfg, renderHaproxyConfig({ cluster: S, members: MEMBERS, checks: PROFILES.fast.haproxy }));
  const s = await status();
  assert.deepEqual([s.settings?.profile, s.settings?.ttl, s.settings?.loopWait, s.settings?.retryTimeout, s.settings?.sync], ['fast', fast.ttl, fast.loopWait, fast.retryTimeout, 'off']);
  const again = await runCli(['cluster', 'set-profile', S, 'fast'], e);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /profile fast \(was fast\)[\s\S]*\(unchanged\)/);
});

test('bad set-profile / set-sync input: one line, exit 2, nothing changed', async () => {
  const e = childEnv(it.env, it.paths);
  for (const args of [['set-profile', S, 'slow'], ['set-sync', S, 'maybe'], ['set-profile', 't-nosuch-cluster', 'fast'], ['set-sync', 'Bad_Name', 'on']]) {
    const r = await runCli(['cluster', ...args], e);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal((await status()).settings?.profile, 'fast');
});

test('set-sync on: a synchronous standby, shown by status', async () => {
  const r = await runCli(['cluster', 'set-sync', S, 'on'], childEnv(it.env, it.paths));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /sync on \(was off\); leader pg-\d, synchronous standby pg-\d/);
  const s = await status();
  assert.equal(s.settings?.sync, 'on');
  assert.equal(s.members.filter((m) => m.role === 'sync_standby').length, 1);
  // What AddReplica and HAProxy re-rendering use: the DCS, not the creation label (default, async).
  const d = await describeCluster(localInventory(docker), S);
  assert.deepEqual([d.settings.profile, d.settings.sync, d.settings.syncStrict], ['fast', true, false]);
});

test('sync mode: SIGKILL the leader 3 times, every acknowledged COMMIT is on the new leader', async () => {
  const results: RoundResult[] = [];
  for (let round = 1; round <= 3; round++) {
    const r = await killLeaderRound(`zero_loss_sync_${round}`, true);
    console.log(`sync round ${round}: killed ${r.killed}, new leader ${r.newLeader}, ${r.acked} commits acknowledged, ` +
      `${r.lost.length} lost, writes back ${r.failoverMs ?? '?'} ms after the kill`);
    results.push(r);
  }
  for (const [i, r] of results.entries()) {
    assert.notEqual(r.newLeader, r.killed, `round ${i + 1}: a failover happened`);
    assert.deepEqual(r.lost, [], `round ${i + 1}: acknowledged ids missing on the new leader`);
  }
});

test('set-sync strict, then off', async () => {
  const e = childEnv(it.env, it.paths);
  const strict = await runCli(['cluster', 'set-sync', S, 'strict'], e);
  assert.equal(strict.code, 0, strict.stderr + strict.stdout);
  assert.match(strict.stdout, /sync strict \(was on\); leader pg-\d, synchronous standby pg-\d/);
  assert.equal((await status()).settings?.sync, 'strict');
  const off = await runCli(['cluster', 'set-sync', S, 'off'], e);
  assert.equal(off.code, 0, off.stderr + off.stdout);
  assert.match(off.stdout, /sync off \(was strict\).*no synchronous standby/);
  const s = await status();
  assert.equal(s.settings?.sync, 'off');
  assert.equal(s.members.filter((m) => m.role === 'sync_standby').length, 0);
});

test('async mode: the same harness reports the loss (informational)', async () => {
  const r = await killLeaderRound('loss_async', false);
  console.log(`async round: killed ${r.killed}, new leader ${r.newLeader}, ${r.acked} commits acknowledged, ` +
    `${r.lost.length} lost${r.lost.length ? ` (ids ${r.lost.slice(0, 10).join(', ')})` : ''}, writes back ${r.failoverMs ?? '?'} ms after the kill`);
  assert.notEqual(r.newLeader, r.killed, 'a failover happened');
  await waitHealthy(false);
});
