/** ClusterWatch healing decisions: which member to restart or reinitialize, and which never. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterSnapshot, MemberObservation } from '../../common/events';
import { decideHealing, emptyHealingMemory, watchTiming, type HealAction, type HealingMemory } from '../../common/healing';

const T0 = Date.parse('2026-01-01T12:00:00Z');
const rules = watchTiming('fast').rules;
const leader: MemberObservation = { name: 'pg-0', container: 'running', patroni: { role: 'leader', state: 'running', timeline: 2 } };
const replica = (name: string, state = 'running', timeline = 2): MemberObservation => ({ name, container: 'running', patroni: { role: 'replica', state, timeline, lag: 0 } });
const exited = (name: string, exitCode: number, finishedSecs: number): MemberObservation => ({
  name, container: 'exited', exitCode, finishedAt: new Date(T0 + finishedSecs * 1000).toISOString(),
});
const snap = (s: number, members: MemberObservation[]): ClusterSnapshot => ({ at: T0 + s * 1000, patroniAnswered: true, members });

/** Decide over successive snapshots; the actions per snapshot. */
function run(snaps: ClusterSnapshot[], memory: HealingMemory = emptyHealingMemory()): HealAction[][] {
  return snaps.map((s) => {
    const d = decideHealing(s, memory, rules);
    memory = d.memory;
    return d.actions;
  });
}

test('fast profile: poll every 2 s, restart after ttl + loop_wait = 12 s; default: 5 s and 40 s', () => {
  assert.equal(watchTiming('fast').intervalMs, 2000);
  assert.equal(watchTiming('fast').rules.exitedGraceMs, 12_000);
  assert.equal(watchTiming('default').intervalMs, 5000);
  assert.equal(watchTiming('default').rules.exitedGraceMs, 40_000);
});

test('a member killed (exit 137) is restarted once it has stayed exited for the grace period, and only once', () => {
  const killed = exited('pg-1', 137, 0);
  const actions = run([snap(2, [leader, killed]), snap(8, [leader, killed]), snap(12, [leader, killed]), snap(14, [leader, killed])]);
  assert.deepEqual(actions[0], [], 'first sighting: never acted on');
  assert.deepEqual(actions[1], [], 'within the grace period (Patroni fails over first)');
  assert.equal(actions[2].length, 1);
  assert.deepEqual({ ...actions[2][0], reason: '' }, { kind: 'restart', member: 'pg-1', finishedAt: killed.finishedAt, reason: '' });
  assert.match((actions[2][0] as { reason: string }).reason, /exited with code 137 12 s ago/);
  assert.deepEqual(actions[3], [], 'the same exit is not restarted twice in a row (the next poll sees it again first)');
});

test('an exit first seen after the grace period still waits for a second sighting', () => {
  const killed = exited('pg-1', 137, 0);
  const actions = run([snap(100, [leader, killed]), snap(102, [leader, killed])]);
  assert.deepEqual(actions[0], []);
  assert.equal(actions[1][0]?.kind, 'restart');
});

test('a clean stop (exit 0: RemoveReplica, docker stop) is never restarted, and reported once', () => {
  const stopped = exited('pg-2', 0, 0);
  const actions = run([snap(2, [leader, stopped]), snap(60, [leader, stopped]), snap(120, [leader, stopped])]);
  assert.deepEqual(actions.map((a) => a.map((x) => x.kind)), [[], ['skip'], []]);
  assert.match((actions[1][0] as { reason: string }).reason, /stopped cleanly \(exit 0\): left stopped/);
});

test('a member being removed (stopped, then its container gone) is never restarted', () => {
  for (const code of [0, 137]) {
    const actions = run([snap(2, [leader, exited('pg-2', code, 0)]), snap(4, [leader])]);
    assert.deepEqual(actions, [[], []], `exit ${code}: no action, not even a note`);
  }
});

test('created, restarting and running containers are left to their workflow or to Docker', () => {
  const created: MemberObservation = { name: 'pg-3', container: 'created', exitCode: 0, finishedAt: '0001-01-01T00:00:00Z' };
  const restarting: MemberObservation = { ...exited('pg-1', 1, 0), container: 'restarting' };
  const actions = run([snap(100, [leader, created, restarting]), snap(200, [leader, created, restarting])]);
  assert.deepEqual(actions, [[], []]);
});

test('a replica stuck after a failed rejoin is reinitialized after 60 s, then not again for 10 minutes', () => {
  const stuck = replica('pg-1', 'start failed');
  const actions = run([snap(0, [leader, stuck]), snap(30, [leader, stuck]), snap(61, [leader, stuck]), snap(200, [leader, stuck]), snap(662, [leader, stuck])]);
  assert.deepEqual(actions.map((a) => a.map((x) => x.kind)), [[], [], ['reinitialize'], [], ['reinitialize']]);
  assert.match((actions[2][0] as { reason: string }).reason, /Patroni state "start failed" for 61 s/);
});

test('a replica left on an old timeline (failed pg_rewind) is reinitialized', () => {
  const old = replica('pg-1', 'running', 1);
  const actions = run([snap(0, [leader, old]), snap(70, [leader, old])]);
  assert.equal(actions[1][0]?.kind, 'reinitialize');
  assert.match((actions[1][0] as { reason: string }).reason, /on timeline 1, the leader is on 2/);
});

test('stuck must be continuous: recovering in between resets the clock', () => {
  const actions = run([snap(0, [leader, replica('pg-1', 'crashed')]), snap(40, [leader, replica('pg-1')]), snap(70, [leader, replica('pg-1', 'crashed')]), snap(100, [leader, replica('pg-1', 'crashed')])]);
  assert.deepEqual(actions.flat(), []);
});

test('no reinitialize without a running leader to clone from, and never the leader', () => {
  const noLeader = run([snap(0, [replica('pg-0', 'stopped'), replica('pg-1', 'stopped')]), snap(100, [replica('pg-0', 'stopped'), replica('pg-1', 'stopped')])]);
  assert.deepEqual(noLeader.flat(), []);
  const leaderStarting: MemberObservation = { ...leader, patroni: { role: 'leader', state: 'starting', timeline: 2 } };
  const waiting = run([snap(0, [leaderStarting, replica('pg-1', 'stopped')]), snap(100, [leaderStarting, replica('pg-1', 'stopped')])]);
  assert.deepEqual(waiting.flat(), []);
});

test('without another running leader the killed member waits 3 × (ttl + loop_wait): the election goes first', () => {
  const killed = exited('pg-0', 137, 0);
  const lonely = run([snap(2, [killed]), snap(20, [killed]), snap(36, [killed])]);
  assert.deepEqual(lonely.map((a) => a.map((x) => x.kind)), [[], [], ['restart']], 'a single member gets its leader back');
  const electing = replica('pg-1');
  const waiting = run([snap(2, [killed, electing]), snap(14, [killed, electing]), snap(30, [killed, electing]), snap(36, [killed, electing])]);
  assert.deepEqual(waiting.map((a) => a.map((x) => x.kind)), [[], [], [], ['restart']]);
});

test('a crash loop is restarted 3 times in 30 minutes, then reported once and left alone', () => {
  let memory = emptyHealingMemory();
  const kinds: string[] = [];
  for (let k = 0; k < 5; k++) {
    const start = k * 100;
    const crash = exited('pg-1', 1, start);
    for (const t of [start + 2, start + 20, start + 22]) {
      const d = decideHealing(snap(t, [leader, crash]), memory, rules);
      memory = d.memory;
      kinds.push(...d.actions.map((a) => a.kind));
    }
  }
  assert.deepEqual(kinds, ['restart', 'restart', 'restart', 'skip', 'skip']);
  // Half an hour after the first restart the window has room again.
  const later = exited('pg-1', 1, 2000);
  const d1 = decideHealing(snap(2002, [leader, later]), memory, rules);
  const d2 = decideHealing(snap(2020, [leader, later]), d1.memory, rules);
  assert.deepEqual(d2.actions.map((a) => a.kind), ['restart']);
});

test('the grace follows the ttl and loop_wait Patroni has now (a profile changed since creation)', () => {
  const killed = exited('pg-1', 137, 0);
  const withHa = (s: number) => ({ ...snap(s, [leader, killed]), ha: { ttl: 30, loopWait: 10 } });
  const actions = run([withHa(2), withHa(20), withHa(39), withHa(41)]);
  assert.deepEqual(actions.map((a) => a.map((x) => x.kind)), [[], [], [], ['restart']], 'default timing: 40 s, not the fast 12 s');
});
