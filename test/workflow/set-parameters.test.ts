/**
 * SetParameters with fake activities: a parameter that applies at once, one that waits for a
 * restart (rolling: the RestartCluster child restarts only the pending members, under the same
 * lease), refusals before anything is written, and a value a member refuses put back as it was.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { RestartMemberView, RestartSnapshot } from '../../common/cluster-restart';
import type { PgSetting } from '../../common/parameter-values';
import type { ParameterChange, ParametersSeen, SetParametersInput, SetParametersResult } from '../../common/set-parameters';
import { switchoverFakes } from '../helpers/fake-switchover';
import { rootCause, runWithFakes, type FakeRun } from '../helpers/run-with-fakes';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const MEMBERS = ['pg-0', 'pg-1', 'pg-2'];
const row = (name: string, r: Partial<PgSetting>): PgSetting => ({
  name, setting: '0', shown: '0', unit: null, vartype: 'integer', enumvals: null, min_val: '0', max_val: '2147483647',
  context: 'user', source: 'default', sourcefile: null, pending_restart: false, ...r,
});
const SETTINGS = [
  row('work_mem', { setting: '4096', unit: 'kB', min_val: '64' }),
  row('shared_buffers', { setting: '16384', unit: '8kB', min_val: '16', max_val: '1073741823', context: 'postmaster' }),
  row('max_connections', { setting: '100', context: 'postmaster', source: 'command line' }),
  row('superuser_reserved_connections', { setting: '3', context: 'postmaster' }),
];

const view = (name: string, pendingRestart: boolean): RestartMemberView => ({
  name, role: name === 'pg-0' ? 'leader' : 'replica', readOnly: false, running: true, state: 'running', pendingRestart, startedAt: `t0 ${name}`,
});

interface Scenario {
  /** Members that wait for a restart for shared_buffers (or max_connections) once it is written. */
  pendingOn?: string[];
  failOn?: Record<string, string>;
  /** A member whose PostgreSQL does not start with the new values: its restart fails (RestartFailed). */
  failsToStart?: string;
  /** The wait after the put-back fails (the failed member does not come back). */
  putBackStalls?: boolean;
}

/** Parameters that take a restart, in these fakes. */
const RESTART_NAMES = ['shared_buffers', 'max_connections'];
const NOT_STARTED = (m: string) => `${m}'s PostgreSQL did not start after its restart: FATAL: could not map anonymous shared memory: Cannot allocate memory`;

async function run(input: Partial<SetParametersInput>, s: Scenario = {}): Promise<FakeRun> {
  const pendingOn = s.pendingOn ?? [];
  /** Members restarted with the new values; after the put-back, those restarted again with the previous ones. */
  const restarted = new Set<string>();
  const restartedBack = new Set<string>();
  let putBack = false;
  const waitsForRestart = (m: string): boolean => (putBack ? restarted.has(m) && !restartedBack.has(m) : pendingOn.includes(m) && !restarted.has(m));
  const seen = (changes: ParameterChange[]): ParametersSeen => ({
    members: MEMBERS.map((member) => {
      const pending = waitsForRestart(member) ? changes.filter((c) => RESTART_NAMES.includes(c.name)).map((c) => c.name) : [];
      return { member, applied: changes.map((c) => c.name).filter((n) => !pending.includes(n)), pending };
    }),
    notRunning: [],
  });
  const snapshot = (): RestartSnapshot => ({
    cluster: 'orders', leader: 'pg-0', members: MEMBERS.map((m) => view(m, waitsForRestart(m))),
    statsPort: 25434, profile: 'fast', syncMode: 'off', acrossHosts: false,
  });
  return runWithFakes(env, 'setParameters', { cluster: 'orders', changes: [{ name: 'work_mem', value: '64MB' }], restart: 'none', ...input }, {}, {
    extra: {
      readParameterSettings: async (a: { names: string[] }) => ({ leader: 'pg-0', settings: SETTINGS, previous: a.names.map((name) => ({ name, value: null })) }),
      patchParameters: async (a: { changes: ParameterChange[] }) => {
        // The previous values here are all unset: their write is the put-back.
        if (a.changes.every((c) => c.value === null)) putBack = true;
        return { member: 'pg-0', changes: a.changes };
      },
      waitForParameters: async (a: { changes: ParameterChange[] }) => {
        if (putBack && s.putBackStalls) throw ApplicationFailure.create({ type: 'Stalled', message: 'pg-1 does not answer (injected)', nonRetryable: true });
        return seen(a.changes);
      },
      // The restart child's: it restarts what is pending; afterwards nothing is.
      restartSnapshot: async () => snapshot(),
      restartMember: async (a: { member: string }) => {
        if (a.member === s.failsToStart && !putBack) throw ApplicationFailure.create({ type: 'RestartFailed', message: NOT_STARTED(a.member), nonRetryable: true });
        (putBack ? restartedBack : restarted).add(a.member);
        return { outcome: 'restarted', startedAt: `t1 ${a.member}`, restartMs: 900 };
      },
      postmasterStartTime: async (a: { member: string }) => ({ state: 'running', startedAt: `t${restarted.has(a.member) ? 1 : 0} ${a.member}` }),
      drainReadOnlyServer: async () => ({ sessionsLeft: 0 }),
      restoreReadOnlyServer: async () => undefined,
      undrainHaproxyServer: async () => undefined,
      ...switchoverFakes(),
    },
    failExtraOn: s.failOn,
  });
}

const names = (r: FakeRun): string[] => r.f.names().filter((n) => !['acquireLease', 'requestClusterLease'].includes(n));
const stepStates = (r: FakeRun): Record<string, string> => Object.fromEntries(r.progress.steps.map((s) => [s.name, s.state]));

test('a parameter that applies at once: checked, written through the leader, seen on every member; no restart', async () => {
  const r = await run({});
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(names(r), ['readParameterSettings', 'patchParameters', 'waitForParameters']);
  assert.deepEqual(r.f.calls.find((c) => c.name === 'patchParameters')?.arg, { cluster: 'orders', leader: 'pg-0', changes: [{ name: 'work_mem', value: '64MB' }] });
  const res = r.result as SetParametersResult;
  assert.deepEqual(res.parameters, [{ name: 'work_mem', value: '64MB', outcome: 'applied', pendingOn: [], restartedOn: [] }]);
  assert.deepEqual(res.restarted, []);
  assert.equal(r.progress.steps[0].name, 'wait for the operation lease on orders', 'the lease first');
  assert.ok(r.progress.steps.every((s) => s.state === 'done'), JSON.stringify(r.progress.steps));
  assert.ok(stepStates(r)['write work_mem=64MB to the DCS (Patroni PATCH /config)']);
});

test('a parameter that takes a restart, without --restart: reported pending on the members that wait', async () => {
  const r = await run({ changes: [{ name: 'shared_buffers', value: '256MB' }] }, { pendingOn: MEMBERS });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(!r.f.names().includes('restartMember'));
  assert.deepEqual((r.result as SetParametersResult).parameters[0], { name: 'shared_buffers', value: '256MB', outcome: 'pending restart', pendingOn: MEMBERS, restartedOn: [] });
});

test('--restart rolling: the RestartCluster child (under the same lease) restarts only the pending members, then every member runs with it', async () => {
  const changes = [{ name: 'work_mem', value: '64MB' }, { name: 'shared_buffers', value: '256MB' }];
  const r = await run({ changes, restart: 'rolling' }, { pendingOn: ['pg-1'] });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.f.calls.filter((c) => c.name === 'restartMember').map((c) => (c.arg as { member: string }).member), ['pg-1'], 'only the pending member');
  assert.deepEqual(names(r).filter((n) => n === 'waitForParameters').length, 2, 'seen again after the restart');
  const res = r.result as SetParametersResult;
  assert.deepEqual(res.parameters.map((p) => [p.name, p.outcome, p.restartedOn]), [['work_mem', 'applied', []], ['shared_buffers', 'restarted', ['pg-1']]]);
  assert.deepEqual(res.restarted, ['pg-1']);
  assert.match(res.writeDowntime ?? '', /^none/, 'the leader was not pending: no switchover');
  const states = stepStates(r);
  assert.equal(states['restart the members that wait for it (rolling restart, child workflow)'], 'done');
  assert.equal(states['check that every member runs with them'], 'done');
});

test('--restart rolling with the leader pending: one switchover (a grandchild, still under the lease)', async () => {
  const r = await run({ changes: [{ name: 'shared_buffers', value: '256MB' }], restart: 'rolling' }, { pendingOn: MEMBERS });
  assert.equal(r.error, undefined, String(r.error));
  const res = r.result as SetParametersResult;
  assert.deepEqual(res.switchover, { from: 'pg-0', to: 'pg-1' });
  assert.deepEqual(res.restarted, ['pg-1', 'pg-2', 'pg-0']);
  assert.deepEqual(res.parameters[0].outcome, 'restarted');
});

test('--restart rolling when nothing waits for a restart: the restart steps are skipped', async () => {
  const r = await run({ restart: 'rolling' });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(!r.f.names().includes('restartMember'));
  assert.equal(stepStates(r)['restart the members that wait for it (rolling restart, child workflow)'], 'skipped');
});

test('a managed parameter is refused by the workflow itself before any activity', async () => {
  const calls: string[] = [];
  const taskQueue = `set-parameters-input-${process.pid}`;
  const worker = await createTestWorker(env, taskQueue, { readParameterSettings: async () => void calls.push('readParameterSettings') });
  await worker.runUntil(async () => {
    const cases: [ParameterChange, RegExp][] = [
      [{ name: 'port', value: '1' }, /^port cannot be set: Patroni sets it/],
      [{ name: 'wal_level', value: 'minimal' }, /^wal_level cannot be set to "minimal"/],
    ];
    for (const [change, re] of cases) {
      const h = await env.client.workflow.start('setParameters', { taskQueue, workflowId: `${taskQueue}-${change.name}`, args: [{ cluster: 'orders', changes: [change], restart: 'none' }] });
      await assert.rejects(h.result(), (err) => rootCause(err).type === 'SpecError' && re.test(rootCause(err).message));
    }
  });
  assert.deepEqual(calls, []);
});

test('values the leader\'s pg_settings refuse are refused before anything is written', async () => {
  const r = await run({ changes: [{ name: 'nosuch', value: '1' }, { name: 'work_mem', value: 'banana' }] });
  assert.equal(rootCause(r.error).type, 'MemberRefused');
  assert.equal(rootCause(r.error).message, 'unknown parameter "nosuch"; work_mem takes a number (with a unit: B, kB, MB, GB or TB), got "banana"');
  assert.deepEqual(names(r), ['readParameterSettings']);
});

test('a value a member refuses on reload is put back as the DCS had it', async () => {
  const r = await run({}, { failOn: { waitForParameters: 'ParameterRejected' } });
  assert.equal(rootCause(r.error).type, 'ParameterRejected');
  const patches = r.f.calls.filter((c) => c.name === 'patchParameters').map((c) => (c.arg as { changes: ParameterChange[] }).changes);
  assert.deepEqual(patches, [[{ name: 'work_mem', value: '64MB' }], [{ name: 'work_mem', value: null }]]);
  assert.equal(stepStates(r)['put the previous values back in the DCS'], 'done');
});

const memberArgs = (r: FakeRun, activity: string): string[] => r.f.calls.filter((c) => c.name === activity).map((c) => (c.arg as { member: string }).member);
const patches = (r: FakeRun): ParameterChange[][] => r.f.calls.filter((c) => c.name === 'patchParameters').map((c) => (c.arg as { changes: ParameterChange[] }).changes);

test('--restart rolling whose first replica does not start with the value: the previous values put back, every member on them, the run fails saying so', async () => {
  const r = await run({ changes: [{ name: 'shared_buffers', value: '256MB' }], restart: 'rolling' }, { pendingOn: MEMBERS, failsToStart: 'pg-1' });
  assert.equal(rootCause(r.error).type, 'ParametersPutBack');
  assert.equal(rootCause(r.error).message,
    `shared_buffers=256MB: the rolling restart failed (${NOT_STARTED('pg-1')}); the previous values are back in the DCS and every member runs with them`);
  assert.deepEqual(patches(r), [[{ name: 'shared_buffers', value: '256MB' }], [{ name: 'shared_buffers', value: null }]]);
  const waited = r.f.calls.filter((c) => c.name === 'waitForParameters').map((c) => (c.arg as { changes: ParameterChange[] }).changes);
  assert.deepEqual(waited, [[{ name: 'shared_buffers', value: '256MB' }], [{ name: 'shared_buffers', value: null }]], 'waited for every member to run the previous values');
  assert.deepEqual(memberArgs(r, 'restartMember'), ['pg-1'], 'no member after the one that failed; none needed restarting back');
  assert.deepEqual(memberArgs(r, 'undrainHaproxyServer'), ['pg-1'], 'the failed member is not left drained');
  const states = stepStates(r);
  assert.equal(states['put the previous values back in the DCS'], 'done');
  assert.equal(states['wait until every member runs with the previous values (Patroni starts a failed member again)'], 'done');
  assert.equal(states['restart the members that wait for it (rolling restart, child workflow)'], 'failed');
});

test('--restart rolling that fails on the second replica: the first, restarted with the new values, is restarted again with the previous ones', async () => {
  const r = await run({ changes: [{ name: 'shared_buffers', value: '256MB' }], restart: 'rolling' }, { pendingOn: MEMBERS, failsToStart: 'pg-2' });
  assert.equal(rootCause(r.error).type, 'ParametersPutBack');
  assert.match(rootCause(r.error).message, /; the previous values are back in the DCS and every member runs with them \(pg-1 restarted again\)$/);
  assert.deepEqual(memberArgs(r, 'restartMember'), ['pg-1', 'pg-2', 'pg-1']);
  assert.equal(stepStates(r)['restart the members that run the new values (rolling restart, child workflow)'], 'done');
});

test('a put-back whose members do not come back says so', async () => {
  const r = await run({ changes: [{ name: 'shared_buffers', value: '256MB' }], restart: 'rolling' }, { pendingOn: MEMBERS, failsToStart: 'pg-1', putBackStalls: true });
  assert.equal(rootCause(r.error).type, 'ParametersPutBack');
  assert.match(rootCause(r.error).message,
    /; putting the previous values back failed too \(pg-1 does not answer \(injected\)\): `dbaas cluster config orders` shows where the members are$/);
  assert.equal(patches(r).length, 2, 'the previous values were written');
});

test('--restart rolling lowering max_connections: the leader restarts in place first, then the replicas start with the lower value; no switchover', async () => {
  const r = await run({ changes: [{ name: 'max_connections', value: '50' }], restart: 'rolling' }, { pendingOn: MEMBERS });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberArgs(r, 'restartMember'), ['pg-0', 'pg-1', 'pg-2']);
  const order = r.f.calls.map((c) => `${c.name} ${(c.arg as { member?: string })?.member ?? ''}`.trim());
  assert.ok(order.indexOf('waitForReplicaStreaming pg-2') < order.indexOf('restartMember pg-1'), 'the replicas stream from the restarted leader before their turn');
  assert.ok(!r.f.names().includes('requestSwitchover'));
  const res = r.result as SetParametersResult;
  assert.deepEqual(res.restarted, ['pg-0', 'pg-1', 'pg-2']);
  assert.deepEqual(res.parameters.map((p) => [p.name, p.outcome, p.restartedOn]), [['max_connections', 'restarted', MEMBERS]]);
  assert.equal(res.writeDowntime, 'pg-0 restarted in place first (replicas cannot run less max_connections than their primary): writes failed while it restarted');
  assert.equal(stepStates(r)['restart pg-0 in place first: replicas cannot run less max_connections than their primary (writes fail while it restarts)'], 'done');
  const planned = r.progress.steps.map((x) => x.name);
  assert.ok(planned.indexOf('wait for the replicas to stream from pg-0 again') < planned.indexOf('restart the members that wait for it (rolling restart, child workflow)'), planned.join(' | '));
});

test('lowering max_connections without a restart: pending, and the result names it as needing the leader first', async () => {
  const r = await run({ changes: [{ name: 'max_connections', value: '50' }] }, { pendingOn: MEMBERS });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual((r.result as SetParametersResult).leaderFirst, ['max_connections']);
  assert.equal(names(r).at(-1), 'resizePoolers', 'the poolers already fit the lower value');
  assert.match((r.result as SetParametersResult).pooler ?? '', /^default_pool_size \d+, reserve_pool_size \d+/);
  const up = await run({ changes: [{ name: 'max_connections', value: '200' }] }, { pendingOn: MEMBERS });
  assert.equal((up.result as SetParametersResult).leaderFirst, undefined, 'a raise goes replicas first as usual');
});
