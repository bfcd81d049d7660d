/** AddReplica and RemoveReplica decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { healthyCluster, type FakeOptions } from '../helpers/fake-activities';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import { positionOf } from '../helpers/order';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const run = (workflow: 'addReplica' | 'removeReplica' | 'scaleReadOnly', arg: unknown, fake: FakeOptions = {}) => runWithFakes(env, workflow, arg, fake);

const add = { cluster: 'orders', member: 'pg-3', readOnly: true, cloneMethod: 'basebackup' };
const remove = (member: string) => ({ cluster: 'orders', member, drainTimeoutMs: 1000 });

test('AddReplica: start with nofailover, HAProxy (in maintenance) while it streams, then in service, then prove a read lands on it', async () => {
  const { f, error, result } = await run('addReplica', add);
  assert.equal(error, undefined);
  const names = f.names();
  assert.deepEqual(names.slice(0, 2), ['describeCluster', 'startPostgresMember']);
  // The reload and the wait for streaming run concurrently, in either order.
  assert.deepEqual(names.slice(2, 4).sort(), ['reconfigureHaproxy', 'waitForReplicaStreaming']);
  assert.deepEqual(names.slice(4), ['putHaproxyMemberInService', 'proveReadOnMember']);
  const start = f.calls.find((c) => c.name === 'startPostgresMember')?.arg as { member: string; nofailover: boolean };
  assert.equal(start.member, 'pg-3');
  assert.equal(start.nofailover, true);
  assert.deepEqual(result, { cluster: 'orders', member: 'pg-3', readOnly: true, lagBytes: 0, readAttempts: 2 });
});

test('AddReplica refuses a cluster without a leader, and a member name in use, before starting anything', async () => {
  const noLeader = await run('addReplica', add, { describe: { leader: null } });
  assert.equal(rootCause(noLeader.error).type, 'MemberRefused');
  assert.match(rootCause(noLeader.error).message, /has no leader/);
  assert.deepEqual(noLeader.f.names(), ['describeCluster']);
  const taken = await run('addReplica', { ...add, member: 'pg-2' });
  assert.match(rootCause(taken.error).message, /pg-2 already exists/);
  assert.deepEqual(taken.f.names(), ['describeCluster']);
});

test('AddReplica that fails for good removes the member it started', async () => {
  const { f, error } = await run('addReplica', add, { failOn: { waitForReplicaStreaming: 'Boom' } });
  assert.equal(rootCause(error).type, 'Boom');
  const names = f.names();
  assert.ok(positionOf(names, 'stopMember') < positionOf(names, 'reconfigureHaproxy', 'last'), 'HAProxy is re-rendered after the container is gone');
  assert.ok(names.includes('removeMemberVolume'));
});

test('RemoveReplica: drain, check again, stop, HAProxy, forget the key, wait until gone, delete the volume', async () => {
  const { f, error } = await run('removeReplica', remove('pg-2'));
  assert.equal(error, undefined);
  // The second describeCluster: right before the stop, the member must still not lead.
  assert.deepEqual(f.names(), [
    'describeCluster', 'drainHaproxyServer', 'describeCluster', 'stopMember', 'reconfigureHaproxy', 'forgetRemovedMember', 'waitForMemberGone', 'removeMemberVolume',
  ]);
});

test('RemoveReplica refuses the leader, an unknown member and the last failover candidate, changing nothing', async () => {
  const onlyOne = { members: [healthyCluster.members[0], healthyCluster.members[1]] };
  const cases: [string, FakeOptions, RegExp][] = [
    ['pg-0', {}, /is the leader/],
    ['pg-7', {}, /no member pg-7/],
    ['pg-1', { describe: onlyOne }, /last member able to take over/],
  ];
  for (const [member, fake, re] of cases) {
    const { f, error } = await run('removeReplica', remove(member), fake);
    assert.equal(rootCause(error).type, 'MemberRefused', member);
    assert.match(rootCause(error).message, re);
    assert.deepEqual(f.names(), ['describeCluster'], `${member}: nothing after the check`);
  }
});

test('ScaleReadOnly converges: adds the missing read-only members, removes the newest extra ones, no-op at target', async () => {
  const ro = (name: string) => ({ name, role: 'replica', readOnly: true, state: 'running', running: true });
  const up = await run('scaleReadOnly', { cluster: 'orders', target: 2, drainTimeoutMs: 1000 });
  assert.equal(up.error, undefined);
  assert.deepEqual(up.result, { cluster: 'orders', readOnly: ['pg-3', 'pg-4'], added: ['pg-3', 'pg-4'], removed: [] });
  const starts = up.f.calls.filter((c) => c.name === 'startPostgresMember').map((c) => (c.arg as { member: string; nofailover: boolean }));
  assert.deepEqual(starts.map((s) => [s.member, s.nofailover]).sort(), [['pg-3', true], ['pg-4', true]]);

  const withRo = { members: [...healthyCluster.members, ro('pg-3'), ro('pg-4'), ro('pg-5')], namesInUse: ['pg-0', 'pg-1', 'pg-2', 'pg-3', 'pg-4', 'pg-5'] };
  const down = await run('scaleReadOnly', { cluster: 'orders', target: 1, drainTimeoutMs: 1000 }, { describe: withRo });
  assert.deepEqual(down.result, { cluster: 'orders', readOnly: ['pg-3'], added: [], removed: ['pg-5', 'pg-4'] });
  assert.equal(down.f.names().filter((n) => n === 'stopMember').length, 2);

  const same = await run('scaleReadOnly', { cluster: 'orders', target: 3 }, { describe: withRo });
  assert.deepEqual(same.result, { cluster: 'orders', readOnly: ['pg-3', 'pg-4', 'pg-5'], added: [], removed: [] });
  assert.deepEqual(same.f.names(), ['describeCluster'], 'at the target nothing is touched');
});
