/** Rolling restart decisions: which members and how, refusals, input, and "ask Patroni or only wait" on retry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  planRestart, restartInputProblem, restartStepDecision, writeDowntimeLine, type RestartMemberView, type RestartSnapshot,
} from '../../common/cluster-restart';
import { haWorkflowIds } from '../../common/workflow-ids';

const view = (name: string, extra: Partial<RestartMemberView> = {}): RestartMemberView => ({
  name, role: name === 'pg-0' ? 'leader' : 'replica', readOnly: false, running: true, state: 'running', pendingRestart: false, startedAt: `t0 ${name}`, ...extra,
});
const snap = (members: RestartMemberView[], extra: Partial<RestartSnapshot> = {}): RestartSnapshot => ({
  cluster: 'orders', leader: 'pg-0', members, statsPort: 25434, profile: 'fast', syncMode: 'off', acrossHosts: false, ...extra,
});
const three = snap([view('pg-0'), view('pg-1'), view('pg-2')]);

test('a full roll: the replicas in member order, then the leader after a switchover', () => {
  assert.deepEqual(planRestart(three, {}), { kind: 'plan', replicas: ['pg-1', 'pg-2'], leader: { name: 'pg-0', how: 'switchover' }, notPending: [] });
});

test('the leader restarts in place when it is alone or only read-only replicas remain', () => {
  assert.deepEqual(planRestart(snap([view('pg-0')]), {}), { kind: 'plan', replicas: [], leader: { name: 'pg-0', how: 'in-place' }, notPending: [] });
  const ro = planRestart(snap([view('pg-0'), view('pg-1', { readOnly: true })]), {});
  assert.deepEqual(ro, { kind: 'plan', replicas: ['pg-1'], leader: { name: 'pg-0', how: 'in-place' }, notPending: [] });
});

test('--member and onlyPending narrow the roll', () => {
  assert.deepEqual(planRestart(three, { member: 'pg-2' }), { kind: 'plan', replicas: ['pg-2'], leader: null, notPending: [] });
  assert.deepEqual(planRestart(three, { member: 'pg-0' }), { kind: 'plan', replicas: [], leader: { name: 'pg-0', how: 'switchover' }, notPending: [] });
  const pending = snap([view('pg-0', { pendingRestart: true }), view('pg-1'), view('pg-2', { pendingRestart: true })]);
  assert.deepEqual(planRestart(pending, { onlyPending: true }), { kind: 'plan', replicas: ['pg-2'], leader: { name: 'pg-0', how: 'switchover' }, notPending: ['pg-1'] });
  assert.deepEqual(planRestart(pending, { member: 'pg-1', onlyPending: true }), { kind: 'plan', replicas: [], leader: null, notPending: ['pg-1'] });
});

test('refusals: unknown member, no leader, a member to restart that does not run, across hosts', () => {
  const reason = (s: RestartSnapshot, member?: string): string => {
    const d = planRestart(s, member === undefined ? {} : { member });
    assert.equal(d.kind, 'refuse', JSON.stringify(d));
    return (d as { reason: string }).reason;
  };
  assert.equal(reason(three, 'pg-9'), 'no member pg-9 in orders (members: pg-0, pg-1, pg-2)');
  assert.match(reason({ ...three, leader: null }), /^orders has no leader/);
  const stopped = snap([view('pg-0'), view('pg-1'), view('pg-2', { running: false, state: 'stopped', startedAt: null })]);
  assert.match(reason(stopped), /^pg-2 is not running \(Patroni state: stopped\); start it first, or restart the others one at a time with --member$/);
  // Only the members it restarts (and the leader) must run.
  assert.equal(planRestart(stopped, { member: 'pg-1' }).kind, 'plan');
  assert.match(reason({ ...three, acrossHosts: true }), /across hosts is not built yet/);
});

test('restart step: ask while the recorded postmaster runs, wait while PostgreSQL stops or starts, done once another runs', () => {
  assert.deepEqual(restartStepDecision({ state: 'running', startedAt: 't0' }, 't0'), { kind: 'ask' });
  assert.deepEqual(restartStepDecision({ state: 'restarting', startedAt: null }, 't0'), { kind: 'wait' });
  assert.deepEqual(restartStepDecision({ state: 'starting', startedAt: null }, 't0'), { kind: 'wait' });
  assert.deepEqual(restartStepDecision({ state: 'running', startedAt: 't1' }, 't0'), { kind: 'done', startedAt: 't1' });
});

test('input: names as every workflow checks them, onlyPending a boolean', () => {
  assert.equal(restartInputProblem({ cluster: 'orders' }), undefined);
  assert.equal(restartInputProblem({ cluster: 'orders', member: 'pg-1', onlyPending: true }), undefined);
  assert.match(restartInputProblem({ cluster: '../../x' }) ?? '', /x/);
  assert.match(restartInputProblem({ cluster: 'orders', member: 'a/b' }) ?? '', /member must look like pg-N/);
  assert.match(restartInputProblem({ cluster: 'orders', onlyPending: 1 as unknown as boolean }) ?? '', /onlyPending must be true or false/);
});

test('the write downtime line and the workflow ids', () => {
  assert.equal(writeDowntimeLine(null, undefined, false), 'none: the leader was not restarted');
  assert.equal(writeDowntimeLine({ name: 'pg-0', how: 'switchover' }, { from: 'pg-0', to: 'pg-1' }, false), 'one switchover (pg-0 → pg-1)');
  assert.match(writeDowntimeLine({ name: 'pg-0', how: 'in-place' }, undefined, true), /the only member/);
  assert.equal(haWorkflowIds.restart('orders'), 'restart-cluster:orders');
  assert.equal(haWorkflowIds.restart('orders', 'pg-1'), 'restart-cluster:orders:pg-1');
});
