/** The operation lease's rules (common/lease.ts): order, children, delete first, no-wait, ended holders. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dropEnded, emptyLease, leaseView, leaseWorkflowId, mainHolder, releaseLease, requestLease, waitingLine, type LeaseRequest, type LeaseState,
} from '../../common/lease';

let n = 0;
const req = (workflowId: string, o: Partial<LeaseRequest> = {}): LeaseRequest => ({
  requestId: `r${++n}`, workflowId, runId: `run-${workflowId}`, operation: workflowId.split(':')[0], wait: true, at: 1000 + n, ...o,
});
const ask = (s: LeaseState, r: LeaseRequest) => requestLease(s, r, 'orders', 5000);

test('the first request is granted; later ones queue in order and are granted one at a time as holders release', () => {
  const a = req('remove-replica:orders:pg-2');
  const b = req('switchover:orders:tl1');
  const c = req('backup:orders:x');
  let r = ask(emptyLease(), a);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [a.workflowId]);
  r = ask(r.state, b);
  assert.deepEqual(r.effects, { grant: [], deny: [] }, 'b waits');
  r = ask(r.state, c);
  assert.deepEqual(r.state.queue.map((q) => q.workflowId), [b.workflowId, c.workflowId]);
  r = releaseLease(r.state, a.requestId, 6000);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [b.workflowId], 'b next, not c');
  assert.equal(r.state.holders[0].since, 6000);
  r = releaseLease(r.state, b.requestId, 7000);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [c.workflowId]);
  r = releaseLease(r.state, c.requestId, 8000);
  assert.deepEqual(r.state, emptyLease());
});

test('a repeated request (an activity retried) changes nothing', () => {
  const a = req('backup:orders:x');
  const r1 = ask(emptyLease(), a);
  const r2 = ask(r1.state, a);
  assert.deepEqual(r2.effects, { grant: [], deny: [] });
  assert.equal(r2.state.holders.length, 1);
});

test('a child of the holder is granted at once; the lease is free when parent and children have all released', () => {
  const parent = req('scale-read-only:orders');
  const other = req('switchover:orders:tl1');
  let r = ask(emptyLease(), parent);
  r = ask(r.state, other);
  const child1 = req('add-replica:orders:pg-3', { parentWorkflowId: parent.workflowId });
  const child2 = req('add-replica:orders:pg-4', { parentWorkflowId: parent.workflowId });
  r = ask(r.state, child1);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [child1.workflowId], 'ahead of the queue');
  r = ask(r.state, child2);
  assert.equal(r.state.holders.length, 3);
  assert.equal(mainHolder(r.state)?.workflowId, parent.workflowId, 'users see the parent as the operation');
  r = releaseLease(r.state, parent.requestId, 6000);
  assert.deepEqual(r.effects.grant, [], 'children still hold it');
  r = releaseLease(r.state, child1.requestId, 6000);
  r = releaseLease(r.state, child2.requestId, 6000);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [other.workflowId]);
});

test('a child whose parent does not hold the lease queues like anyone', () => {
  const holder = req('backup:orders:x');
  const r = ask(ask(emptyLease(), holder).state, req('add-replica:orders:pg-3', { parentWorkflowId: 'scale-read-only:orders' }));
  assert.equal(r.state.queue.length, 1);
});

test('a delete refuses the queued operations, goes next, and refuses what comes while it waits or holds', () => {
  const running = req('add-replica:orders:pg-3');
  const queued = req('backup:orders:x');
  let r = ask(ask(emptyLease(), running).state, queued);
  const del = req('delete-cluster:orders', { operation: 'delete', preempt: true });
  r = ask(r.state, del);
  assert.deepEqual(r.effects.deny.map((d) => [d.request.workflowId, d.reason, d.message]), [
    [queued.workflowId, 'deleting', 'cluster orders is being deleted (delete-cluster:orders)'],
  ]);
  assert.deepEqual(r.effects.grant, [], 'the running operation ends first (its compensation included)');
  const late = ask(r.state, req('switchover:orders:tl1'));
  assert.equal(late.effects.deny[0]?.reason, 'deleting');
  r = releaseLease(r.state, running.requestId, 6000);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [del.workflowId]);
  assert.equal(ask(r.state, req('backup:orders:y')).effects.deny[0]?.reason, 'deleting', 'while it holds');
  r = releaseLease(r.state, del.requestId, 7000);
  assert.deepEqual(ask(r.state, req('create-cluster:orders')).effects.grant.length, 1, 'a create after the delete');
});

test('a request that must not wait is refused with the line that names the holder', () => {
  const holder = req('remove-replica:orders:pg-2');
  const r = ask(ask(emptyLease(), holder).state, req('switchover:orders:tl1', { wait: false }));
  assert.equal(r.effects.deny[0]?.reason, 'busy');
  assert.equal(r.effects.deny[0]?.message, 'waiting for remove-replica (remove-replica:orders:pg-2) on orders');
  assert.equal(r.state.queue.length, 0, 'not queued');
  assert.equal(ask(emptyLease(), req('heal:x', { wait: false })).effects.grant.length, 1, 'granted when free');
});

test('holders and waiters whose runs ended are dropped, and the next in line is granted', () => {
  const dead = req('backup:orders:x');
  const deadWaiter = req('set-sync:orders');
  const next = req('switchover:orders:tl1');
  let r = ask(emptyLease(), dead);
  r = ask(r.state, deadWaiter);
  r = ask(r.state, next);
  r = dropEnded(r.state, [dead.runId, deadWaiter.runId], 9000);
  assert.deepEqual(r.effects.grant.map((h) => h.workflowId), [next.workflowId]);
  assert.deepEqual(r.state.queue, []);
});

test('views, ids and the waiting line', () => {
  const r = ask(ask(emptyLease(), req('backup:orders:x')).state, req('switchover:orders:tl1'));
  const v = leaseView(r.state);
  assert.equal(v.operation?.workflowId, 'backup:orders:x');
  assert.deepEqual(v.queued.map((q) => q.operation), ['switchover']);
  assert.deepEqual(leaseView(emptyLease()), { operation: null, queued: [] });
  assert.equal(leaseWorkflowId('orders', 'dbaas', 'dbaas'), 'cluster-lease:orders');
  assert.equal(leaseWorkflowId('orders', 'fake-1', 'dbaas'), 'cluster-lease:orders@fake-1');
  assert.equal(waitingLine({ operation: 'backup', workflowId: 'backup:orders:x' }, 'orders'), 'waiting for backup (backup:orders:x) on orders');
});
