/** The cluster watch's decisions about a lost host: when its members are re-created, when a replaced member is fenced, and when nothing is done. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterSnapshot, MemberObservation } from '../../common/events';
import { decideHostLoss, emptyHostLossMemory, fenced, retire, type HostLossAction, type HostLossMemory } from '../../common/host-loss';

const T0 = Date.parse('2026-01-01T12:00:00Z');
const on = (name: string, host: string): MemberObservation => ({ name, host, container: 'running' });
const snap = (s: number, members: MemberObservation[], unreachableHosts?: string[]): ClusterSnapshot =>
  ({ at: T0 + s * 1000, patroniAnswered: true, members, ...(unreachableHosts ? { unreachableHosts } : {}) });

const healthy = (s: number): ClusterSnapshot => snap(s, [on('pg-0', 'h1'), on('pg-1', 'h2')]);
const h2Lost = (s: number): ClusterSnapshot => snap(s, [on('pg-0', 'h1')], ['h2']);

/** Decide over successive snapshots; the actions per snapshot and the last memory. */
function run(snaps: ClusterSnapshot[], replaceAfterS: number, memory: HostLossMemory = emptyHostLossMemory()): { actions: HostLossAction[][]; memory: HostLossMemory } {
  const actions: HostLossAction[][] = [];
  let prev: ClusterSnapshot | undefined;
  for (const s of snaps) {
    const d = decideHostLoss(prev, s, memory, replaceAfterS);
    memory = d.memory;
    actions.push(d.actions);
    prev = s;
  }
  return { actions, memory };
}

test('a host lost for replace-after: its members (seen there before) are re-created once', () => {
  const r = run([healthy(0), h2Lost(2), h2Lost(20), h2Lost(32), h2Lost(34), h2Lost(300)], 30);
  assert.deepEqual(r.actions.slice(0, 3), [[], [], []]);
  assert.deepEqual(r.actions[3], [{ kind: 'replace', host: 'h2', members: ['pg-1'], since: T0 + 2000 }]);
  assert.deepEqual(r.actions.slice(4), [[], []], 'once per loss');
});

test('a host back before replace-after: nothing is re-created, and a later loss counts from its own start', () => {
  const r = run([healthy(0), h2Lost(2), h2Lost(20), healthy(22), h2Lost(40), h2Lost(60), h2Lost(70)], 30);
  assert.deepEqual(r.actions.flat().length, 1);
  assert.deepEqual(r.actions[6], [{ kind: 'replace', host: 'h2', members: ['pg-1'], since: T0 + 40_000 }]);
});

test('replace-after 0: the loss is reported once, nothing re-created', () => {
  const r = run([healthy(0), h2Lost(2), h2Lost(4000)], 0);
  assert.equal(r.actions[1].length, 1);
  assert.equal(r.actions[1][0].kind, 'report');
  assert.deepEqual(r.actions[2], []);
});

test('a host already lost when the watch starts: its members are unknown, reported once, not re-created', () => {
  const r = run([h2Lost(0), h2Lost(100), h2Lost(200)], 30);
  assert.equal(r.actions[0][0].kind, 'report');
  assert.match((r.actions[0][0] as { reason: string }).reason, /already lost when the watch started/);
  assert.deepEqual(r.actions.slice(1), [[], []]);
});

test('a lost host without members of the cluster: nothing to do', () => {
  const r = run([healthy(0), snap(2, [on('pg-0', 'h1'), on('pg-1', 'h2')], ['h3']), snap(100, [on('pg-0', 'h1'), on('pg-1', 'h2')], ['h3'])], 30);
  assert.deepEqual(r.actions, [[], [], []]);
});

test('a retired member seen again on its host is fenced until it is gone; never while the host is still lost, never another member', () => {
  let memory = retire(emptyHostLossMemory(), 'h2', ['pg-1']);
  const stillLost = decideHostLoss(undefined, snap(0, [on('pg-0', 'h1'), on('pg-2', 'h3')], ['h2']), memory, 30);
  assert.deepEqual(stillLost.actions.filter((a) => a.kind === 'fence'), []);
  memory = stillLost.memory;
  const back = decideHostLoss(undefined, snap(2, [on('pg-0', 'h1'), on('pg-1', 'h2'), on('pg-2', 'h3')]), memory, 30);
  assert.deepEqual(back.actions, [{ kind: 'fence', host: 'h2', member: 'pg-1' }]);
  // The fence removed it: nothing more, also when a member of that name appears elsewhere later.
  memory = fenced(back.memory, 'pg-1');
  const after = decideHostLoss(undefined, snap(4, [on('pg-0', 'h1'), on('pg-2', 'h3')]), memory, 30);
  assert.deepEqual(after.actions, []);
  assert.deepEqual(after.memory.retired, {});
});
