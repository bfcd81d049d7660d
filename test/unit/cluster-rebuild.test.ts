/** Rebuild and resize decisions: the input check, the re-create step's decision, the parameters a resize writes, the refusals' wording. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rebuildInputProblem, rebuildStepDecision, resizeChanges, resizeRequestKey } from '../../common/cluster-rebuild';
import { planRestart, writeDowntimeLine, type RestartSnapshot } from '../../common/cluster-restart';

test('rebuildStepDecision: the recorded container is replaced; one made since on the current image is this run\'s; none is created', () => {
  assert.equal(rebuildStepDecision({ id: 'c1', image: 'sha256:new' }, 'c1', 'sha256:new'), 'replace', 'the recorded one goes even on the current image (a resize)');
  assert.equal(rebuildStepDecision({ id: 'c1', image: 'sha256:old' }, 'c1', 'sha256:new'), 'replace');
  assert.equal(rebuildStepDecision({ id: 'c2', image: 'sha256:new' }, 'c1', 'sha256:new'), 'done', 'an earlier attempt made it: not again');
  assert.equal(rebuildStepDecision({ id: 'c2', image: 'sha256:old' }, 'c1', 'sha256:new'), 'replace', 'made since, but the tag moved on meanwhile');
  assert.equal(rebuildStepDecision(undefined, 'c1', 'sha256:new'), 'create', 'an earlier attempt removed it and died');
});

test('rebuildInputProblem: a cluster name, and a resize that names a valid size', () => {
  assert.equal(rebuildInputProblem({ cluster: 'orders' }), undefined);
  assert.equal(rebuildInputProblem({ cluster: 'orders', resize: { memoryMiB: 512 } }), undefined);
  assert.match(String(rebuildInputProblem({ cluster: 'Orders!' })), /cluster name/);
  assert.equal(rebuildInputProblem({ cluster: 'orders', resize: {} }), 'a resize names --cpus, --memory or both');
  assert.match(String(rebuildInputProblem({ cluster: 'orders', resize: { memoryMiB: 128 } })), /at least 256m/);
  assert.match(String(rebuildInputProblem(null as never)), /^the input must be an object/);
});

test('resizeChanges: the parameters of the new size when the resize names a memory, none for CPUs alone', () => {
  assert.deepEqual(resizeChanges({ memoryMiB: 1024 }, { cpus: 1, memoryMiB: 1024 }).map((c) => `${c.name}=${c.value}`), [
    'shared_buffers=256MB', 'effective_cache_size=768MB', 'max_connections=128', 'work_mem=4MB', 'maintenance_work_mem=64MB',
  ]);
  assert.deepEqual(resizeChanges({ cpus: 2 }, { cpus: 2, memoryMiB: 1024 }), []);
  assert.deepEqual(resizeChanges(undefined, { memoryMiB: 1024 }), []);
  assert.equal(resizeRequestKey({ cpus: 1 }), 'cpus=1,memoryMiB=-');
});

test("the rolling restart's refusals and downtime line speak of a rebuild when it is one", () => {
  const snap: RestartSnapshot = {
    cluster: 'orders', leader: null, statsPort: 1, profile: 'fast', syncMode: 'off', acrossHosts: false,
    members: [{ name: 'pg-0', role: 'replica', readOnly: false, running: false, state: 'stopped', pendingRestart: false, startedAt: null }],
  };
  assert.deepEqual(planRestart(snap, { operation: 'rebuild' }), { kind: 'refuse', reason: 'orders has no leader; a rolling rebuild needs one (Patroni fails over by itself)' });
  assert.deepEqual(planRestart({ ...snap, acrossHosts: true }, { operation: 'rebuild' }),
    { kind: 'refuse', reason: 'cluster rebuild of a cluster across hosts is not built yet (orders has members on added hosts)' });
  assert.deepEqual(planRestart({ ...snap, leader: 'pg-0' }, { operation: 'rebuild' }), { kind: 'refuse', reason: 'pg-0 is not running (Patroni state: stopped); start it first' });
  assert.match(String((planRestart({ ...snap, leader: 'pg-0' }, {}) as { reason: string }).reason), /restart the others one at a time with --member$/);
  assert.equal(writeDowntimeLine({ name: 'pg-0', how: 'in-place' }, undefined, true, 're-created'),
    'pg-0 re-created in place (it is the only member): writes failed while it was re-created');
  assert.equal(writeDowntimeLine(null, undefined, false, 're-created'), 'none: the leader was not re-created');
});
