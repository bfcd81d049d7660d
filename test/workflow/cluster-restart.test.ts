/**
 * RestartCluster with fake activities: the order of the roll, the switchover child under the same
 * lease, refusals, onlyPending, a pending max_connections decrease (the leader first), the poolers
 * sized at the end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { leaderFirstNote, type RestartClusterInput, type RestartClusterResult, type RestartMemberView, type RestartSnapshot } from '../../common/cluster-restart';
import { settingRow } from '../helpers/pg-settings';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';
import { switchoverFakes } from '../helpers/fake-switchover';
import { rootCause, runWithFakes, type FakeRun } from '../helpers/run-with-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const view = (name: string, extra: Partial<RestartMemberView> = {}): RestartMemberView => ({
  name, role: name === 'pg-0' ? 'leader' : 'replica', readOnly: false, running: true, state: 'running', pendingRestart: true, startedAt: `t0 ${name}`, ...extra,
});

/** pg-0 leads, pg-1 and pg-2 replicate; every member waits for a restart. */
const threeMembers = (members: RestartMemberView[] = [view('pg-0'), view('pg-1'), view('pg-2')]): RestartSnapshot => ({
  cluster: 'orders', leader: 'pg-0', members, statsPort: 25434, profile: 'fast', syncMode: 'off', acrossHosts: false,
});

interface Scenario {
  snapshot?: RestartSnapshot;
  /** The old leader's postmaster after the switchover: a new one (Patroni's demote restarts it) unless false. */
  demoteRestarts?: boolean;
  failOn?: Record<string, string>;
  /** The DCS holds max_connections=50 while the leader runs 100 (set without a restart). */
  lowered?: boolean;
}

async function run(input: Partial<RestartClusterInput>, s: Scenario = {}): Promise<FakeRun> {
  const first = s.snapshot ?? threeMembers();
  let snapshots = 0;
  return runWithFakes(env, 'restartCluster', { cluster: 'orders', ...input }, {}, {
    extra: {
      // After the roll nothing is pending any more.
      restartSnapshot: async () => (snapshots++ === 0 ? first : { ...first, members: first.members.map((m) => ({ ...m, pendingRestart: false })) }),
      restartMember: async (a: { member: string }) => ({ outcome: 'restarted', startedAt: `t1 ${a.member}`, restartMs: 900 }),
      readParameterSettings: async (a: { names: string[] }) => ({
        leader: 'pg-0',
        settings: [settingRow('max_connections', { setting: '100', context: 'postmaster', source: 'command line' })],
        previous: a.names.map((name) => ({ name, value: name === 'max_connections' ? (s.lowered ? '50' : '100') : null })),
      }),
      postmasterStartTime: async (a: { member: string }) => ({ state: 'running', startedAt: s.demoteRestarts === false ? `t0 ${a.member}` : `t1 ${a.member}` }),
      drainReadOnlyServer: async () => ({ sessionsLeft: 0 }),
      drainHaproxyServer: async () => ({ sessionsLeft: 0 }),
      restoreReadOnlyServer: async () => undefined,
      undrainHaproxyServer: async () => undefined,
      ...switchoverFakes(),
    },
    failExtraOn: s.failOn,
  });
}

/** The calls that name a member, as `activity member` (the steps of the roll, in order). */
const memberCalls = (r: FakeRun): string[] =>
  r.f.calls.filter((c) => typeof (c.arg as { member?: unknown })?.member === 'string').map((c) => `${c.name} ${(c.arg as { member: string }).member}`);

const rollOf = (m: string): string[] => [`drainHaproxyServer ${m}`, `restartMember ${m}`, `waitForReplicaStreaming ${m}`, `putHaproxyMemberInService ${m}`];

test('replicas one at a time, each back in ro before the next; the switchover child (granted under the same lease) to a restarted replica; the old leader restarted by its demote', async () => {
  const r = await run({});
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberCalls(r), [
    ...rollOf('pg-1'), ...rollOf('pg-2'),
    'drainReadOnlyServer pg-1', 'waitForReplicaStreaming pg-0', 'restoreReadOnlyServer pg-1',
    'postmasterStartTime pg-0', 'waitForReplicaStreaming pg-0', 'putHaproxyMemberInService pg-0',
  ]);
  assert.deepEqual(r.f.calls.filter((c) => c.name === 'requestSwitchover').map((c) => (c.arg as { to: string }).to), ['pg-1'], 'one switchover, to a restarted replica');
  assert.deepEqual(r.f.calls.filter((c) => c.name === 'restartMember').map((c) => (c.arg as { startedBefore: string }).startedBefore), ['t0 pg-1', 't0 pg-2'],
    'each restart carries the start time recorded before');
  const res = r.result as RestartClusterResult;
  assert.deepEqual(res.restarted.map((m) => [m.member, m.how, m.startedBefore, m.startedAfter]), [
    ['pg-1', 'restarted', 't0 pg-1', 't1 pg-1'], ['pg-2', 'restarted', 't0 pg-2', 't1 pg-2'], ['pg-0', 'restarted by its demote', 't0 pg-0', 't1 pg-0'],
  ]);
  assert.deepEqual(res.switchover, { from: 'pg-0', to: 'pg-1' });
  assert.equal(res.writeDowntime, 'one switchover (pg-0 → pg-1)');
  assert.deepEqual([res.pendingBefore, res.pendingAfter, res.notPending], [['pg-0', 'pg-1', 'pg-2'], [], []]);
  const states = Object.fromEntries(r.progress.steps.map((s) => [s.name, s.state]));
  assert.equal(states['switch over from pg-0 (child workflow)'], 'done');
  assert.equal(states['take pg-0 out of HAProxy'], 'skipped');
  assert.equal(states['restart pg-0 (Patroni POST /restart)'], 'skipped');
  assert.ok(r.progress.steps.every((s) => s.state === 'done' || s.state === 'skipped'), JSON.stringify(r.progress.steps));
});

test('an old leader whose demote kept its postmaster is restarted like a replica, after the switchover', async () => {
  const r = await run({}, { demoteRestarts: false });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberCalls(r).slice(-6), ['restoreReadOnlyServer pg-1', 'postmasterStartTime pg-0', ...rollOf('pg-0')]);
  assert.equal((r.result as RestartClusterResult).restarted[2]?.how, 'restarted');
});

test('a cluster of one member restarts it in place, and the result states the write downtime', async () => {
  const r = await run({}, { snapshot: threeMembers([view('pg-0')]) });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.f.names(), ['restartSnapshot', 'restartMember', 'waitForLeader', 'restartSnapshot', 'resizePoolers'], 'alone, the leader restarts in place anyway: nothing to ask');
  const res = r.result as RestartClusterResult;
  assert.match(res.writeDowntime, /^pg-0 restarted in place \(it is the only member\): writes failed/);
  assert.equal(res.restarted[0]?.how, 'restarted in place');
});

test('--member: a replica alone; the leader after a switchover; an unknown one is refused before anything changes', async () => {
  const replica = await run({ member: 'pg-2' });
  assert.equal(replica.error, undefined, String(replica.error));
  assert.deepEqual(memberCalls(replica), rollOf('pg-2'));
  assert.match((replica.result as RestartClusterResult).writeDowntime, /^none/);

  const leader = await run({ member: 'pg-0' });
  assert.equal(leader.error, undefined, String(leader.error));
  assert.ok(!leader.f.names().includes('restartMember'), 'no replica restarted, and the demote was pg-0\'s restart');
  assert.deepEqual((leader.result as RestartClusterResult).restarted.map((m) => m.member), ['pg-0']);

  const unknown = await run({ member: 'pg-9' });
  assert.equal(rootCause(unknown.error).type, 'MemberRefused');
  assert.match(rootCause(unknown.error).message, /^no member pg-9 in orders \(members: pg-0, pg-1, pg-2\)$/);
  assert.deepEqual(unknown.f.names(), ['restartSnapshot']);
});

test('read-only replicas cannot take over: the leader restarts in place after them', async () => {
  const snapshot = threeMembers([view('pg-0'), view('pg-1', { readOnly: true })]);
  const r = await run({}, { snapshot });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberCalls(r), [...rollOf('pg-1'), 'restartMember pg-0']);
  assert.ok(!r.f.names().includes('requestSwitchover'));
  assert.match((r.result as RestartClusterResult).writeDowntime, /no replica can take over/);
});

test('onlyPending restarts only the members Patroni flags pending_restart', async () => {
  const snapshot = threeMembers([view('pg-0', { pendingRestart: false }), view('pg-1'), view('pg-2', { pendingRestart: false })]);
  const r = await run({ onlyPending: true }, { snapshot });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberCalls(r), rollOf('pg-1'));
  const res = r.result as RestartClusterResult;
  assert.deepEqual([res.pendingBefore, res.notPending], [['pg-1'], ['pg-0', 'pg-2']]);
});

test('a stopped member refuses the roll before anything changes', async () => {
  const stopped = await run({}, { snapshot: threeMembers([view('pg-0'), view('pg-1'), view('pg-2', { running: false, state: 'stopped', startedAt: null })]) });
  assert.equal(rootCause(stopped.error).type, 'MemberRefused');
  assert.match(rootCause(stopped.error).message, /^pg-2 is not running \(Patroni state: stopped\)/);
  assert.deepEqual(stopped.f.names(), ['restartSnapshot']);
});

test('onlyPending that is no boolean fails for good before any activity (names: test/workflow/input-checks)', async () => {
  const calls: string[] = [];
  const taskQueue = `restart-input-${process.pid}`;
  const worker = await createTestWorker(env, taskQueue, { restartSnapshot: async () => void calls.push('restartSnapshot') });
  await worker.runUntil(async () => {
    const h = await env.client.workflow.start('restartCluster', { taskQueue, workflowId: taskQueue, args: [{ cluster: 'orders', onlyPending: 'yes' }] });
    await assert.rejects(h.result(), (err) => rootCause(err).type === 'SpecError' && /onlyPending must be true or false/.test(rootCause(err).message));
  });
  assert.deepEqual(calls, []);
});

test('a restart that fails for good leaves the member back in HAProxy (undrained) and goes no further', async () => {
  const r = await run({}, { failOn: { restartMember: 'RestartRefused' } });
  assert.equal(rootCause(r.error).type, 'RestartRefused');
  assert.deepEqual(memberCalls(r), ['drainHaproxyServer pg-1', 'restartMember pg-1', 'undrainHaproxyServer pg-1']);
});

test('a drain that fails half-way (DRAIN set, its wait failed) is undone: the member, or the switchover candidate in ro', async () => {
  const member = await run({}, { failOn: { drainHaproxyServer: 'Stalled' } });
  assert.equal(rootCause(member.error).type, 'Stalled');
  assert.deepEqual(memberCalls(member), ['drainHaproxyServer pg-1', 'undrainHaproxyServer pg-1']);
  const candidate = await run({}, { failOn: { drainReadOnlyServer: 'Stalled' } });
  assert.equal(rootCause(candidate.error).type, 'Stalled');
  assert.deepEqual(memberCalls(candidate).slice(-2), ['drainReadOnlyServer pg-1', 'restoreReadOnlyServer pg-1']);
});

test('a max_connections decrease pending on the leader: the leader restarts in place first, then the replicas, no switchover; the poolers are sized after', async () => {
  const r = await run({}, { lowered: true });
  assert.equal(r.error, undefined, String(r.error));
  const calls = memberCalls(r);
  assert.equal(calls[0], 'restartMember pg-0');
  assert.deepEqual(calls.slice(1, 3).sort(), ['waitForReplicaStreaming pg-1', 'waitForReplicaStreaming pg-2'], 'both replicas stream from it again (waited together)');
  assert.deepEqual(calls.slice(3), [...rollOf('pg-1'), ...rollOf('pg-2')]);
  assert.ok(!r.f.names().includes('requestSwitchover'), 'restarted first, the leader needs no switchover');
  assert.equal(r.f.names().at(-1), 'resizePoolers');
  const res = r.result as RestartClusterResult;
  assert.deepEqual(res.restarted.map((m) => [m.member, m.how, m.startedBefore]), [
    ['pg-0', 'restarted in place first', 't0 pg-0'], ['pg-1', 'restarted', 't0 pg-1'], ['pg-2', 'restarted', 't0 pg-2'],
  ], 'the leader restarted from the start time the first step recorded');
  assert.deepEqual(res.leaderFirst, ['max_connections']);
  assert.match(res.writeDowntime, /^pg-0 restarted in place first \(replicas cannot run less max_connections than their primary\)/);
  assert.match(res.pooler ?? '', /^default_pool_size 40, reserve_pool_size 5 \(max_connections 100\)/);
  assert.ok(r.progress.steps.every((x) => x.state === 'done'), JSON.stringify(r.progress.steps));
});

test('no decrease pending: the roll is unchanged (replicas, switchover, old leader), and a leader with nothing pending is not asked', async () => {
  const r = await run({});
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(r.f.names().includes('readParameterSettings'), 'the leader waits for a restart: the DCS is compared');
  assert.equal((r.result as RestartClusterResult).leaderFirst, undefined);
  assert.deepEqual(r.f.calls.filter((c) => c.name === 'requestSwitchover').map((c) => (c.arg as { to: string }).to), ['pg-1']);
  const calm = await run({}, { lowered: true, snapshot: threeMembers([view('pg-0', { pendingRestart: false }), view('pg-1'), view('pg-2')]) });
  assert.equal(calm.error, undefined, String(calm.error));
  assert.ok(!calm.f.names().includes('readParameterSettings'));
  assert.deepEqual(memberCalls(calm).slice(0, 4), rollOf('pg-1'));
});

test('--member a replica with a decrease pending: that member only, and the result says it does not take it', async () => {
  const r = await run({ member: 'pg-2' }, { lowered: true });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberCalls(r), rollOf('pg-2'));
  assert.deepEqual((r.result as RestartClusterResult).leaderFirst, ['max_connections']);
  assert.match(leaderFirstNote('orders', 'pg-2', ['max_connections']), /^pg-2 does not take the lower max_connections from this restart: .*`dbaas cluster restart orders` \(without --member\)/);
});
