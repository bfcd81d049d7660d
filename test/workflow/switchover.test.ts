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

test('scheduled: Patroni gets scheduled_at, the workflow waits on a durable timer, then for the switch', async () => {
  const at = new Date(Date.now() + 1500).toISOString();
  const r = await runSwitchover(env, { cluster: 'orders', at });
  assert.equal(r.error, undefined);
  const req = r.arg<{ to?: string; at: string }>('requestSwitchover');
  assert.equal(req.at, at);
  assert.equal(req.to, undefined, 'without --to Patroni picks the healthiest member at that time');
  assert.deepEqual(r.names(), ['switchoverSnapshot', 'requestSwitchover', 'waitForSwitchedLeader', 'waitForReplicaStreaming']);
  assert.ok(r.progress.steps.some((s) => s.name === `wait until ${at}` && s.state === 'done'));
});

test('a cancelled scheduled switchover is taken off Patroni\'s schedule and never waited for', async () => {
  const at = new Date(Date.now() + 60_000).toISOString();
  const r = await runSwitchover(env, { cluster: 'orders', to: 'pg-1', at }, {}, { cancelInPhase: 'scheduled' });
  assert.equal(rootCause(r.error).message.length > 0, true);
  assert.deepEqual(r.names(), ['switchoverSnapshot', 'requestSwitchover', 'cancelScheduledSwitchover']);
  assert.deepEqual(r.progress.steps.filter((s) => s.state === 'skipped').map((s) => s.name), [
    'wait for pg-1 to lead and hold the rw port', 'wait for pg-0 to stream as a replica',
  ]);
  // Cancelled too late (Patroni already acting): the workflow sees the switch through.
  const late = await runSwitchover(env, { cluster: 'orders', to: 'pg-1', at }, { cancelTooLate: true }, { cancelInPhase: 'scheduled' });
  assert.equal(late.error, undefined);
  assert.equal((late.result as SwitchoverResult).leader, 'pg-1');
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
