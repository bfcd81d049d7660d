/** Switchover workflow logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause } from '../helpers/run-with-fakes';
import { healthySnapshot, replicaView, runSwitchover } from '../helpers/fake-switchover';
import type { SwitchoverResult } from '../../common/switchover';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const MiB = 1024 * 1024;

test('switchover to a named member: check, one request, wait for it to lead on rw, then the old leader streams', async () => {
  const r = await runSwitchover(env, { cluster: 'orders', to: 'pg-1' });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.names(), ['switchoverSnapshot', 'requestSwitchover', 'waitForSwitchedLeader', 'waitForReplicaStreaming']);
  assert.deepEqual(r.arg('requestSwitchover'), {
    cluster: 'orders', from: 'pg-0', to: 'pg-1', timelineBefore: 3, statsPort: 25434, etcdMembers: ['etcd-0'],
  });
  assert.equal(r.arg<{ member: string }>('waitForReplicaStreaming').member, 'pg-0', 'the old leader must stream again');
  const res = r.result as SwitchoverResult;
  assert.equal(res.changed, true);
  assert.equal(res.from, 'pg-0');
  assert.equal(res.leader, 'pg-1');
  assert.deepEqual([res.timelineBefore, res.timelineAfter], [3, 4]);
  assert.deepEqual(r.progress.steps.map((s) => [s.name, s.state]), [
    ['wait for the operation lease on orders', 'done'],
    ['check the candidate', 'done'],
    ['ask Patroni to switch over pg-0 → pg-1', 'done'],
    ['wait for pg-1 to lead and hold the rw port', 'done'],
    ['wait for pg-0 to stream as a replica', 'done'],
  ]);
});

test('without --to the healthiest candidate is picked (least lag; read-only members never)', async () => {
  const snapshot = healthySnapshot([replicaView('pg-1', { lag: 8192 }), replicaView('pg-2', { lag: 0, readOnly: true }), replicaView('pg-3', { lag: 100 })]);
  const r = await runSwitchover(env, { cluster: 'orders' }, { snapshot });
  assert.equal(r.error, undefined);
  assert.equal(r.arg<{ to: string }>('requestSwitchover').to, 'pg-3');
});

test('refusals change nothing: unknown, nofailover, lagging member, no healthy candidate', async () => {
  const snapshot = healthySnapshot([replicaView('pg-1', { lag: 3 * MiB }), replicaView('pg-2', { readOnly: true })]);
  const cases: [string | undefined, RegExp][] = [
    ['pg-7', /^no member pg-7 in orders/],
    ['pg-2', /pg-2 is read-only \(nofailover\)/],
    ['pg-1', /pg-1 lags 3\.0 MiB behind the leader/],
    [undefined, /^no member of orders can take over from pg-0: pg-1 lags .*; pg-2 is read-only/],
  ];
  for (const [to, re] of cases) {
    const r = await runSwitchover(env, { cluster: 'orders', ...(to ? { to } : {}) }, { snapshot });
    assert.equal(rootCause(r.error).type, 'MemberRefused', String(to));
    assert.match(rootCause(r.error).message, re);
    assert.deepEqual(r.names(), ['switchoverSnapshot'], `${to}: nothing after the check`);
  }
});

test('--to the current leader: nothing to do, no request', async () => {
  const r = await runSwitchover(env, { cluster: 'orders', to: 'pg-0' });
  assert.equal(r.error, undefined);
  assert.equal((r.result as SwitchoverResult).changed, false);
  assert.deepEqual(r.names(), ['switchoverSnapshot']);
});

test('scheduled: checked when asked, a durable timer, then under the lease checked again and switched at once', async () => {
  const at = new Date(Date.now() + 1500).toISOString();
  const r = await runSwitchover(env, { cluster: 'orders', at });
  assert.equal(r.error, undefined);
  const req = r.arg<{ to?: string; at?: string }>('requestSwitchover');
  assert.equal(req.at, undefined, 'Patroni is asked when the time has come, not scheduled in advance');
  assert.equal(req.to, 'pg-1', 'without --to, the healthiest member when it fires');
  assert.deepEqual(r.names(), ['switchoverSnapshot', 'switchoverSnapshot', 'requestSwitchover', 'waitForSwitchedLeader', 'waitForReplicaStreaming']);
  assert.deepEqual(r.progress.steps.slice(0, 4).map((s) => [s.name, s.state]), [
    ['check the candidate (when asked)', 'done'],
    [`wait until ${at}`, 'done'],
    ['wait for the operation lease on orders', 'done'],
    ['check the candidate', 'done'],
  ]);
});

test('a cancelled scheduled switchover asks nothing of Patroni', async () => {
  const at = new Date(Date.now() + 60_000).toISOString();
  const r = await runSwitchover(env, { cluster: 'orders', to: 'pg-1', at }, {}, { cancelInPhase: 'scheduled' });
  assert.equal(rootCause(r.error).message.length > 0, true);
  assert.deepEqual(r.names(), ['switchoverSnapshot']);
  assert.deepEqual(r.progress.steps.filter((s) => s.state === 'skipped').map((s) => s.name), [
    'wait for the operation lease on orders', 'check the candidate',
  ]);
});

test('a switchover under way is not cancellable: Patroni goes ahead, so the workflow sees it through', async () => {
  const r = await runSwitchover(env, { cluster: 'orders', to: 'pg-1' }, { leadDelayMs: 1500 }, { cancelInPhase: 'switching' });
  assert.equal(r.error, undefined);
  assert.equal((r.result as SwitchoverResult).leader, 'pg-1');
  assert.deepEqual(r.names(), ['switchoverSnapshot', 'requestSwitchover', 'waitForSwitchedLeader', 'waitForReplicaStreaming']);
});

test('a wait that fails for good leaves the old leader undrained in HAProxy rw', async () => {
  const r = await runSwitchover(env, { cluster: 'orders', to: 'pg-1' }, { failOn: { waitForSwitchedLeader: 'SwitchoverFailed' } });
  assert.equal(rootCause(r.error).type, 'SwitchoverFailed');
  assert.deepEqual(r.names(), ['switchoverSnapshot', 'requestSwitchover', 'waitForSwitchedLeader', 'undrainRwServer']);
  assert.deepEqual(r.arg('undrainRwServer'), { cluster: 'orders', member: 'pg-0', statsPort: 25434 });
});
