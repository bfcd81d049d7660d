/** ClusterWatch event diffing: which events two successive observations of a cluster give. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LAG_THRESHOLD_BYTES, appendBounded, describeStart, diffSnapshots, initialMemory,
  type ClusterEvent, type ClusterSnapshot, type DiffMemory, type MemberObservation,
} from '../../common/events';

const T0 = Date.parse('2026-01-01T12:00:00Z');
const o = { lagThresholdBytes: DEFAULT_LAG_THRESHOLD_BYTES };

const up = (name: string, role: 'leader' | 'replica', timeline = 1, lag?: number): MemberObservation => ({
  name, container: 'running', exitCode: 0, finishedAt: '0001-01-01T00:00:00Z', patroni: { role, state: 'running', timeline, lag: role === 'leader' ? undefined : lag ?? 0 },
});
const killed = (name: string, finishedAt = '2026-01-01T12:00:01Z'): MemberObservation => ({ name, container: 'exited', exitCode: 137, finishedAt });
const snap = (s: number, members: MemberObservation[], patroniAnswered = true): ClusterSnapshot => ({ at: T0 + s * 1000, patroniAnswered, members });

/** Feed snapshots through the diff as the workflow does; all events in order. */
function run(snaps: ClusterSnapshot[]): ClusterEvent[] {
  const events: ClusterEvent[] = [describeStart(snaps[0])];
  let memory: DiffMemory = initialMemory(snaps[0]);
  for (let i = 1; i < snaps.length; i++) {
    const d = diffSnapshots(snaps[i - 1], snaps[i], memory, o);
    events.push(...d.events);
    memory = d.memory;
  }
  return events;
}
const kinds = (es: ClusterEvent[]) => es.map((e) => `${e.kind}${e.member ? ':' + e.member : ''}`);

test('the first observation sums up the cluster', () => {
  const e = describeStart(snap(0, [up('pg-0', 'leader', 3), up('pg-1', 'replica', 3), killed('pg-2')]));
  assert.equal(e.kind, 'watch-started');
  assert.equal(e.at, '2026-01-01T12:00:00.000Z');
  assert.match(e.message, /leader pg-0 on timeline 3/);
  assert.match(e.message, /pg-2 down \(container exited \(code 137\)\)/);
});

test('nothing changed: no events', () => {
  assert.deepEqual(run([snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica')]), snap(2, [up('pg-0', 'leader'), up('pg-1', 'replica')])]).slice(1), []);
});

test('leader SIGKILLed: member down, no leader, failover to the replica, new timeline, old leader back', () => {
  const events = run([
    snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica')]),
    // Container gone, its leader key still alive in etcd until ttl.
    snap(2, [{ ...killed('pg-0'), patroni: { role: 'leader', state: 'running', timeline: 1 } }, up('pg-1', 'replica')]),
    snap(10, [killed('pg-0'), up('pg-1', 'replica')]),
    snap(12, [killed('pg-0'), up('pg-1', 'leader', 2)]),
    snap(24, [{ ...up('pg-0', 'replica', 1), patroni: { role: 'replica', state: 'starting', timeline: 1 } }, up('pg-1', 'leader', 2)]),
    snap(26, [up('pg-0', 'replica', 2), up('pg-1', 'leader', 2)]),
  ]);
  assert.deepEqual(kinds(events), [
    'watch-started', 'member-down:pg-0', 'no-leader', 'failover:pg-1', 'timeline-changed:pg-1', 'member-up:pg-0',
  ]);
  const failover = events.find((e) => e.kind === 'failover')!;
  assert.match(failover.message, /pg-1 is the new leader \(pg-0 was down: container exited \(code 137\)\)/);
  assert.equal(failover.at, '2026-01-01T12:00:12.000Z', 'stamped with the observation time');
  assert.equal(events.find((e) => e.kind === 'timeline-changed')!.message, 'timeline 1 → 2');
});

test('a leader change seen in one poll while the old leader is still gone is a failover', () => {
  const events = run([snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica')]), snap(20, [killed('pg-0'), up('pg-1', 'leader', 2)])]);
  assert.deepEqual(kinds(events).slice(1), ['member-down:pg-0', 'failover:pg-1', 'timeline-changed:pg-1']);
});

test('the old leader stepping down while running is a switchover', () => {
  const demoting = { ...up('pg-0', 'replica'), patroni: { role: 'replica' as const, state: 'stopping', timeline: 1 } };
  const events = run([
    snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica')]),
    snap(2, [demoting, up('pg-1', 'replica')]),
    snap(4, [{ ...up('pg-0', 'replica', 1), patroni: { role: 'replica', state: 'starting', timeline: 1 } }, up('pg-1', 'leader', 2)]),
    snap(6, [up('pg-0', 'replica', 2), up('pg-1', 'leader', 2)]),
  ]);
  assert.deepEqual(kinds(events).slice(1), ['member-down:pg-0', 'no-leader', 'switchover:pg-1', 'timeline-changed:pg-1', 'member-up:pg-0']);
  assert.match(events.find((e) => e.kind === 'switchover')!.message, /leader pg-0 → pg-1 \(pg-0 kept running\)/);
});

test('a leader restarted by Docker before its key expired keeps leading: no leader change', () => {
  const events = run([
    snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica')]),
    snap(2, [{ ...up('pg-0', 'leader'), patroni: { role: 'leader', state: 'starting', timeline: 1 } }, up('pg-1', 'replica')]),
    snap(4, [up('pg-0', 'leader'), up('pg-1', 'replica')]),
    // Later a real switchover is not mistaken for a failover because of that old episode.
    snap(60, [up('pg-0', 'replica'), up('pg-1', 'leader', 2)]),
  ]);
  assert.deepEqual(kinds(events).slice(1), ['member-down:pg-0', 'member-up:pg-0', 'switchover:pg-1', 'timeline-changed:pg-1']);
});

test('members added and removed (AddReplica, RemoveReplica)', () => {
  const events = run([
    snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica')]),
    snap(2, [up('pg-0', 'leader'), up('pg-1', 'replica'), { ...up('pg-2', 'replica'), patroni: { role: 'replica', state: 'creating replica' } }]),
    snap(4, [up('pg-0', 'leader'), up('pg-1', 'replica'), up('pg-2', 'replica')]),
    snap(6, [up('pg-0', 'leader'), up('pg-1', 'replica')]),
  ]);
  assert.deepEqual(kinds(events).slice(1), ['member-added:pg-2', 'member-up:pg-2', 'member-removed:pg-2']);
  assert.match(events[1].message, /Patroni state "creating replica"/);
});

test('lag over the threshold is reported once, and again when it is back under', () => {
  const events = run([
    snap(0, [up('pg-0', 'leader'), up('pg-1', 'replica', 1, 0)]),
    snap(2, [up('pg-0', 'leader'), up('pg-1', 'replica', 1, 5 * 1024 * 1024)]),
    snap(4, [up('pg-0', 'leader'), up('pg-1', 'replica', 1, 3 * 1024 * 1024)]),
    snap(6, [up('pg-0', 'leader'), up('pg-1', 'replica', 1, 1000)]),
  ]);
  assert.deepEqual(kinds(events).slice(1), ['lag-high:pg-1', 'lag-ok:pg-1']);
  assert.match(events[1].message, /pg-1 lags 5\.0 MiB \(threshold 1\.0 MiB\)/);
});

test('no Patroni answer is reported once and does not count as every member down', () => {
  const a = [up('pg-0', 'leader'), up('pg-1', 'replica')];
  const dark = a.map((m) => ({ ...m, patroni: undefined }));
  const events = run([snap(0, a), snap(2, dark, false), snap(4, dark, false), snap(6, a)]);
  assert.deepEqual(kinds(events).slice(1), ['patroni-unreachable', 'patroni-reachable']);
});

test('the log keeps the newest events', () => {
  const e = (n: number): ClusterEvent => ({ at: new Date(T0 + n).toISOString(), kind: 'member-up', message: String(n) });
  const log = appendBounded([e(1), e(2), e(3)], [e(4), e(5)], 3);
  assert.deepEqual(log.map((x) => x.message), ['3', '4', '5']);
});

test('a host that stops answering: host-down, its members down (not removed), a failover; back: host-up, its member up', () => {
  const on = (h: string, m: MemberObservation): MemberObservation => ({ ...m, host: h });
  const lost = (s: number, members: MemberObservation[]): ClusterSnapshot => ({ ...snap(s, members), unreachableHosts: ['h2'] });
  const es = run([
    snap(0, [on('h1', up('pg-0', 'replica')), on('h2', up('pg-1', 'leader')), on('h3', up('pg-2', 'replica'))]),
    lost(2, [on('h1', up('pg-0', 'replica')), on('h3', up('pg-2', 'replica'))]),
    lost(4, [on('h1', up('pg-0', 'leader', 2)), on('h3', up('pg-2', 'replica', 2))]),
    snap(6, [on('h1', up('pg-0', 'leader', 2)), on('h2', up('pg-1', 'replica', 2)), on('h3', up('pg-2', 'replica', 2))]),
  ]);
  assert.deepEqual(kinds(es).slice(1), ['host-down', 'member-down:pg-1', 'no-leader', 'failover:pg-0', 'timeline-changed:pg-0', 'host-up', 'member-up:pg-1']);
  assert.match(es[1].message, /host h2 does not answer \(members there: pg-1\)/);
  assert.match(es[2].message, /pg-1 down: host h2 does not answer/);
});
