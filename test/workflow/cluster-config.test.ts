/** SetProfile and SetSync decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROFILES } from '../../common/spec';
import { healthyCluster } from '../helpers/fake-activities';
import { defaultDcs, runConfigWorkflow, type FakeConfigOptions } from '../helpers/fake-config';
import { rootCause } from '../helpers/run-with-fakes';
import { startTestTemporal } from '../helpers/temporal';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const run = (workflow: 'setProfile' | 'setSync', arg: unknown, o: FakeConfigOptions = {}) => runConfigWorkflow(env, workflow, arg, o);

test('SetProfile: PATCH the timing into the DCS, wait until every member runs with it, then HAProxy checks', async () => {
  const { f, dcs, error, result, progress } = await run('setProfile', { cluster: 'orders', profile: 'fast' });
  assert.equal(error, undefined);
  assert.deepEqual(f.names(), ['describeCluster', 'patchDcsConfig', 'waitForDcsConfigApplied', 'reconfigureHaproxy']);
  const patch = f.calls.find((c) => c.name === 'patchDcsConfig')?.arg as { leader: string; patch: Record<string, number> };
  assert.equal(patch.leader, 'pg-0', 'written through the leader first');
  assert.deepEqual(patch.patch, { ttl: 10, loop_wait: 2, retry_timeout: 4, maximum_lag_on_failover: 1048576 });
  assert.deepEqual(f.calls.find((c) => c.name === 'waitForDcsConfigApplied')?.arg, { cluster: 'orders', want: patch.patch });
  assert.deepEqual(f.calls.find((c) => c.name === 'reconfigureHaproxy')?.arg, { cluster: 'orders', profile: 'fast', statsPort: 25434 });
  assert.equal(dcs.ttl, PROFILES.fast.patroni.ttl);
  assert.equal(dcs.synchronous_mode, false, 'sync mode untouched');
  assert.deepEqual(result, { cluster: 'orders', profile: 'fast', previous: 'default', applied: ['pg-0', 'pg-1', 'pg-2'], notRunning: [], haproxyChanged: true });
  assert.ok(progress.steps.every((s) => s.state === 'done'), JSON.stringify(progress.steps));
  assert.equal(progress.steps[0].name, 'wait for the operation lease on orders', 'the lease first');
  assert.match(progress.steps[2].name, /ttl 10, loop_wait 2, retry_timeout 4/);
});

test('SetProfile reports stopped members and a previous timing that matched no profile', async () => {
  const { result, error } = await run('setProfile', { cluster: 'orders', profile: 'default' }, { dcs: { ...defaultDcs, ttl: 20 }, stopped: ['pg-2'] });
  assert.equal(error, undefined);
  const r = result as { previous: string; applied: string[]; notRunning: string[] };
  assert.equal(r.previous, 'custom');
  assert.deepEqual(r.applied, ['pg-0', 'pg-1']);
  assert.deepEqual(r.notRunning, ['pg-2']);
});

test('SetProfile refuses an unknown profile and a cluster without a leader, writing nothing', async () => {
  const unknown = await run('setProfile', { cluster: 'orders', profile: 'slow' });
  assert.equal(rootCause(unknown.error).type, 'MemberRefused');
  assert.match(rootCause(unknown.error).message, /unknown profile "slow"/);
  assert.deepEqual(unknown.f.names(), []);
  const noLeader = await run('setProfile', { cluster: 'orders', profile: 'fast' }, { describe: { leader: null } });
  assert.match(rootCause(noLeader.error).message, /has no leader/);
  assert.deepEqual(noLeader.f.names(), ['describeCluster']);
  assert.equal(noLeader.dcs.ttl, 30);
});

test('SetProfile: a member that never applies fails the workflow before HAProxy changes', async () => {
  const { f, error, progress } = await run('setProfile', { cluster: 'orders', profile: 'fast' }, { failConfigOn: { waitForDcsConfigApplied: 'Boom' } });
  assert.equal(rootCause(error).type, 'Boom');
  assert.ok(!f.names().includes('reconfigureHaproxy'));
  // lease, check, write, wait (failed), HAProxy
  assert.deepEqual(progress.steps.map((s) => s.state), ['done', 'done', 'done', 'failed', 'pending']);
});

test('SetSync on / strict / off: PATCH synchronous_mode(_strict), then wait for the standby (or its absence)', async () => {
  const on = await run('setSync', { cluster: 'orders', mode: 'on' });
  assert.equal(on.error, undefined);
  assert.deepEqual(on.f.names(), ['describeCluster', 'patchDcsConfig', 'waitForSyncApplied']);
  assert.deepEqual((on.f.calls[1].arg as { patch: object }).patch, { synchronous_mode: true, synchronous_mode_strict: false });
  assert.deepEqual(on.result, { cluster: 'orders', mode: 'on', previous: 'off', leader: 'pg-0', syncStandby: 'pg-1' });
  assert.equal(on.dcs.ttl, 30, 'timing untouched');

  const strict = await run('setSync', { cluster: 'orders', mode: 'strict' }, { dcs: { ...defaultDcs, synchronous_mode: true } });
  assert.deepEqual((strict.f.calls[1].arg as { patch: object }).patch, { synchronous_mode: true, synchronous_mode_strict: true });
  assert.equal((strict.result as { previous: string }).previous, 'on');

  const off = await run('setSync', { cluster: 'orders', mode: 'off' }, { dcs: { ...defaultDcs, synchronous_mode: true, synchronous_mode_strict: true } });
  assert.deepEqual((off.f.calls[1].arg as { patch: object }).patch, { synchronous_mode: false, synchronous_mode_strict: false });
  assert.deepEqual(off.result, { cluster: 'orders', mode: 'off', previous: 'strict', leader: 'pg-0', syncStandby: null });
});

test('SetSync refuses on/strict without a replica, an unknown mode and a cluster without a leader', async () => {
  const alone = { members: [healthyCluster.members[0]] };
  const cases: [unknown, FakeConfigOptions, RegExp, string[]][] = [
    [{ cluster: 'orders', mode: 'strict' }, { describe: alone }, /needs at least 1 replica/, ['describeCluster']],
    [{ cluster: 'orders', mode: 'yes' }, {}, /unknown sync mode "yes"/, []],
    [{ cluster: 'orders', mode: 'on' }, { describe: { leader: null } }, /has no leader/, ['describeCluster']],
  ];
  for (const [arg, o, re, calls] of cases) {
    const r = await run('setSync', arg, o);
    assert.equal(rootCause(r.error).type, 'MemberRefused');
    assert.match(rootCause(r.error).message, re);
    assert.deepEqual(r.f.names(), calls);
    assert.equal(r.dcs.synchronous_mode, false, 'nothing written');
  }
  // Switching off needs no replica.
  const off = await run('setSync', { cluster: 'orders', mode: 'off' }, { describe: alone });
  assert.equal(off.error, undefined);
});
