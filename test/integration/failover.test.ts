/**
 * Failover (fast profile): SIGKILL the leader container while a client writes through rw. A
 * replica takes over and the rw port follows it; `docker kill` leaves the old leader exited (the
 * restart policy does not apply to a killed container), so ClusterWatch starts it again after the
 * grace period and it rejoins as a replica on the new timeline (pg_rewind when it diverged).
 * `cluster events` shows what happened. Timings are printed, never asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { Client } from 'pg';
import { haproxyBackends } from '../../activities/haproxy';
import type { ClusterStatus } from '../../client/cluster-info';
import type { ClusterEvent } from '../../common/events';
import { containerName } from '../../common/names';
import type { ConnectionInfo } from '../../common/spec';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const C = testClusterName('failover');
let it: IntegrationEnv;
let info: ConnectionInfo;

before(async () => {
  it = await startIntegration(docker);
  info = await it.createCluster({ name: C, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false });
});

after(async () => {
  await it?.stop([C]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(250);
  }
}

async function status(): Promise<ClusterStatus> {
  const r = await runCli(['cluster', 'status', C, '--json'], childEnv(it.env, it.paths));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus;
}

/** One write on a fresh connection through rw (as a client reconnecting after an error would). */
async function writeOnce(uri: string, n: number): Promise<void> {
  const c = new Client({ connectionString: uri, connectionTimeoutMillis: 1000, query_timeout: 2000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('insert into failover_probe (n) values ($1)', [n]);
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('SIGKILL of the leader: a replica takes the rw port, the old leader rejoins, the watch records it', async () => {
  const e = childEnv(it.env, it.paths);
  const uri = (await runCli(['connect', C], e)).stdout.trim();
  const setup = new Client({ connectionString: uri });
  await setup.connect();
  await setup.query('create table if not exists failover_probe (n int, at timestamptz default now())');
  await setup.end();
  const oldLeader = info.leader;
  const before = await status();
  const oldTimeline = before.members.find((m) => m.name === oldLeader)?.timeline ?? 0;

  // A writer that keeps writing through rw, reconnecting after every failure.
  let n = 0;
  let writing = true;
  let lastOk = 0;
  let killedAt = Number.MAX_SAFE_INTEGER;
  let firstOkAfterKill = 0;
  /** Writes that failed once rw had reached the new leader (while the old one was restarted and rejoined). */
  const failedAfterFailover: string[] = [];
  const writer = (async () => {
    while (writing) {
      const started = Date.now();
      try {
        await writeOnce(uri, ++n);
        lastOk = Date.now();
        // Only a write begun after the kill proves the new leader (one in flight may have hit the old one).
        if (started > killedAt && !firstOkAfterKill) firstOkAfterKill = lastOk;
      } catch (err) {
        // Before the failover: the leader is gone, try again. After it: a failure worth reporting.
        if (firstOkAfterKill) failedAfterFailover.push(`${((Date.now() - killedAt) / 1000).toFixed(1)} s: ${(err as Error).message}`);
      }
      await sleep(100);
    }
  })();
  // HAProxy's view of the old leader on rw, sampled from the kill until it has rejoined.
  let sampling = true;
  const oldLeaderUpOnRw: string[] = [];
  const sampler = (async () => {
    while (sampling) {
      const up = await haproxyBackends(info.ports.stats).catch(() => undefined);
      if (firstOkAfterKill && up?.rwUp.includes(oldLeader)) oldLeaderUpOnRw.push(`${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
      await sleep(250);
    }
  })();
  await eventually('the writer writing', async () => (lastOk > 0 ? true : undefined), 30_000);

  killedAt = Date.now();
  await docker.getContainer(containerName(C, oldLeader)).kill({ signal: 'SIGKILL' });
  const writtenAgainAt = await eventually('a write through rw after the kill', async () => firstOkAfterKill || undefined, 120_000);
  const failoverSecs = (writtenAgainAt - killedAt) / 1000;
  console.log(`failover (fast profile): SIGKILL of ${oldLeader} → first write through rw succeeded after ${failoverSecs.toFixed(1)} s`);

  // Docker leaves a killed container exited: restart policy unless-stopped does not apply to `docker kill`.
  const killed = await docker.getContainer(containerName(C, oldLeader)).inspect();
  console.log(`${oldLeader} container after the kill: ${killed.State.Status}, exit code ${killed.State.ExitCode}, restarts by Docker ${killed.RestartCount}`);

  // The new leader is UP on rw in HAProxy, and it is the leader Patroni reports.
  // (Patroni publishes the promoted leader's new timeline at its next HA loop.)
  const s1 = await eventually('a new leader on a new timeline', async () => {
    const s = await status();
    const tl = s.members.find((m) => m.name === s.leader)?.timeline ?? 0;
    return s.leader && s.leader !== oldLeader && tl > oldTimeline ? s : undefined;
  }, 60_000);
  const newLeader = s1.leader!;
  const newTimeline = s1.members.find((m) => m.name === newLeader)?.timeline ?? 0;
  const rw = await haproxyBackends(info.ports.stats);
  assert.ok(rw.rwUp.includes(newLeader), `${newLeader} is UP on rw (${rw.rwUp.join(', ')})`);

  // The watch starts the old leader again (after ttl + loop_wait); it rejoins as a streaming replica on the new timeline.
  const rejoinedAt = await eventually(`${oldLeader} streaming from ${newLeader} on timeline ${newTimeline}`, async () => {
    const s = await status();
    const m = s.members.find((x) => x.name === oldLeader);
    if (m?.role !== 'replica' || m.state !== 'running' || m.timeline !== newTimeline) return undefined;
    const c = new Client({ connectionString: uri, connectionTimeoutMillis: 2000 });
    await c.connect();
    try {
      const r = await c.query<{ state: string }>('select state from pg_stat_replication where application_name = $1', [oldLeader]);
      return r.rows[0]?.state === 'streaming' ? Date.now() : undefined;
    } finally {
      await c.end();
    }
  }, 180_000);
  console.log(`${oldLeader} streaming again from ${newLeader} ${((rejoinedAt - killedAt) / 1000).toFixed(1)} s after the kill`);
  writing = false;
  sampling = false;
  await Promise.all([writer, sampler]);
  console.log(`writes through rw after the failover, while ${oldLeader} was restarted and rejoined: ${failedAfterFailover.length} failed` +
    (failedAfterFailover.length ? ` (${failedAfterFailover.slice(0, 5).join('; ')})` : ''));
  // Printed, not asserted yet: with resolvers `hold nx 5s` HAProxy puts the killed member in MAINT
  // (resolution), and leaving MAINT when it starts again makes it UP ("start OK, check at once")
  // for one check interval — rw (`balance first`) then sends writes to the old leader. The fix is
  // in common/render/haproxy.ts (`hold nx 1h`); with it both lines are "0 failed" and "never".
  console.log(`${oldLeader} UP on rw after the failover: ${oldLeaderUpOnRw.length ? oldLeaderUpOnRw.join(', ') : 'never'}`);
  assert.deepEqual(failedAfterFailover, [], "no write failed once rw had the new leader");
  assert.deepEqual(oldLeaderUpOnRw, [], "the restarted old leader never took rw");
  assert.deepEqual((await haproxyBackends(info.ports.stats)).rwUp, [newLeader], `only ${newLeader} is UP on rw`);
  const logs = (await docker.getContainer(containerName(C, oldLeader)).logs({ stdout: true, stderr: true, tail: 400 })).toString('utf8');
  const rewound = /running pg_rewind from/.test(logs);
  console.log(`${oldLeader} rejoin: ${rewound ? 'pg_rewind ran' : 'no pg_rewind needed (it had not diverged)'}`);

  // The rows written before the kill and acknowledged are there on the new leader.
  const check = new Client({ connectionString: uri });
  await check.connect();
  const count = await check.query<{ n: string }>('select count(*) as n from failover_probe');
  await check.end();
  assert.ok(Number(count.rows[0].n) > 0);

  // `cluster events` shows the story, with ISO timestamps.
  const events = await eventually('the watch recording the rejoin', async () => {
    const r = await runCli(['cluster', 'events', C, '--json'], e);
    assert.equal(r.code, 0, r.stderr);
    const es = JSON.parse(r.stdout) as ClusterEvent[];
    return es.some((x) => x.kind === 'member-up' && x.member === oldLeader) ? es : undefined;
  }, 60_000);
  const story = events.map((x) => `${x.kind}${x.member ? ':' + x.member : ''}`);
  console.log(events.map((x) => `${x.at} ${x.kind} ${x.message}`).join('\n'));
  for (const want of [`member-down:${oldLeader}`, `failover:${newLeader}`, `timeline-changed:${newLeader}`, `heal-restart:${oldLeader}`, `member-up:${oldLeader}`]) {
    assert.ok(story.includes(want), `${want} in ${story.join(' ')}`);
  }
  assert.ok(story.indexOf(`failover:${newLeader}`) < story.indexOf(`heal-restart:${oldLeader}`), 'healed after the failover, not racing it');
  for (const x of events) assert.match(x.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const table = await runCli(['cluster', 'events', C], e);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`failover: ${newLeader} is the new leader`));
});

test('a member stopped with docker stop (exit 0) is left stopped: the watch says so once and restarts nothing', async () => {
  const e = childEnv(it.env, it.paths);
  const s = await status();
  const replica = s.members.find((m) => m.role !== 'leader')!.name;
  const ct = docker.getContainer(containerName(C, replica));
  await ct.stop({ t: 40 });
  const stopped = await ct.inspect();
  console.log(`${replica} after docker stop: ${stopped.State.Status}, exit code ${stopped.State.ExitCode}`);
  assert.equal(stopped.State.ExitCode, 0, 'Patroni under tini exits 0 on a graceful stop');
  const note = await eventually('the watch noting the clean stop', async () => {
    const r = await runCli(['cluster', 'events', C, '--json'], e);
    const es = JSON.parse(r.stdout) as ClusterEvent[];
    return es.find((x) => x.kind === 'heal-skipped' && x.member === replica);
  }, 60_000);
  assert.match(note.message, /stopped cleanly \(exit 0\): left stopped/);
  // Past the grace period (ttl + loop_wait = 12 s from the stop) it is still exited.
  await sleep(Math.max(0, Date.parse(stopped.State.FinishedAt) + 16_000 - Date.now()));
  const later = await ct.inspect();
  assert.equal(later.State.Status, 'exited');
  assert.equal(later.State.FinishedAt, stopped.State.FinishedAt, 'never started again');
});

test('cluster events: unknown cluster → one line, exit 2', async () => {
  const r = await runCli(['cluster', 'events', 't-no-such-cluster'], childEnv(it.env, it.paths));
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /no cluster named t-no-such-cluster/);
});
