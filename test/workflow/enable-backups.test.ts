/** EnableBackups plan with fake activities: which members are re-created, in what order, and when it switches over. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { healthyCluster } from '../helpers/fake-activities';
import { switchoverFakes } from '../helpers/fake-switchover';
import { rootCause, runWithFakes, type ExtraActivity } from '../helpers/run-with-fakes';
import { assertCalledBefore, positionOf } from '../helpers/order';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

/** The repository is missing on `missing`; the switchover fakes hand the leader to pg-1. */
const fakes = (missing: string[]): Record<string, ExtraActivity> => ({
  membersWithoutRepository: async () => missing,
  repositoryLayout: async () => ({ kind: 'volume', volume: missing.length === 0, membersOffHost: ['pg-0', 'pg-1', 'pg-2'] }),
  ensureBackupRepository: async () => undefined,
  enableWalArchiving: async () => undefined,
  replacePostgresMember: async (a: { member: string }) => ({ replaced: missing.includes(a.member) }),
  createStanza: async () => ({ member: 'pg-1' }),
  ...switchoverFakes(),
  waitForSwitchedLeader: async () => ({ leader: 'pg-1', timeline: 4, steeredHaproxy: true }),
  undrainHaproxyServer: async () => undefined,
});

const replaced = (calls: { name: string; arg: unknown }[]): string[] =>
  calls.filter((c) => c.name === 'replacePostgresMember').map((c) => (c.arg as { member: string }).member);

test('EnableBackups: archiving on first, replicas re-created one by one, then the leader after a switchover, then the stanza', async () => {
  const { f, error, result } = await runWithFakes(env, 'enableBackups', { cluster: 'orders' }, {}, { extra: fakes(['pg-0', 'pg-1', 'pg-2']) });
  assert.equal(error, undefined);
  assert.deepEqual(result, { cluster: 'orders', recreated: ['pg-1', 'pg-2', 'pg-0'], leader: 'pg-1' });
  const names = f.names();
  assertCalledBefore(names, 'enableWalArchiving', 'replacePostgresMember');
  assert.deepEqual(replaced(f.calls), ['pg-1', 'pg-2', 'pg-0']);
  // The old leader is re-created only once it no longer leads, and each replica is out of HAProxy while it restarts.
  const switched = positionOf(names, 'requestSwitchover');
  const oldLeaderReplaced = f.calls.findIndex((c) => c.name === 'replacePostgresMember' && (c.arg as { member: string }).member === 'pg-0');
  assert.ok(oldLeaderReplaced >= 0, 'pg-0 was re-created');
  assert.ok(oldLeaderReplaced > switched, 'pg-0 was re-created after the switchover');
  assert.equal(names.filter((n) => n === 'drainHaproxyServer').length, 3);
  assert.equal(names.filter((n) => n === 'putHaproxyMemberInService').length, 3);
  assert.equal(names[names.length - 1], 'createStanza');
  const spec = (f.calls.find((c) => c.name === 'replacePostgresMember')?.arg as { spec: { backups: boolean } }).spec;
  assert.equal(spec.backups, true);
});

test('EnableBackups on a cluster that has its repository moves nothing: no re-create, no switchover, stanza checked', async () => {
  const { f, error, result } = await runWithFakes(env, 'enableBackups', { cluster: 'orders' }, {}, { extra: fakes([]) });
  assert.equal(error, undefined);
  assert.deepEqual(result, { cluster: 'orders', recreated: [], leader: 'pg-0' });
  assert.deepEqual(replaced(f.calls), []);
  assert.ok(!f.names().includes('requestSwitchover'));
  assert.ok(f.names().includes('createStanza'));
});

test('EnableBackups with no replica able to take over re-creates the leader in place and waits for it', async () => {
  const single = { members: [healthyCluster.members[0]], namesInUse: ['pg-0'] };
  const { f, error, progress } = await runWithFakes(env, 'enableBackups', { cluster: 'orders' }, { describe: single }, { extra: fakes(['pg-0']) });
  assert.equal(error, undefined);
  assert.deepEqual(replaced(f.calls), ['pg-0']);
  assert.ok(!f.names().includes('requestSwitchover'));
  assertCalledBefore(f.names(), 'replacePostgresMember', 'waitForLeader');
  assert.ok(progress.steps.some((s) => /writes pause while it restarts/.test(s.name)));
});

test('EnableBackups refuses a cluster without a leader or with a stopped member, before changing anything', async () => {
  const stopped = { members: healthyCluster.members.map((m) => (m.name === 'pg-2' ? { ...m, running: false } : m)) };
  for (const [describe, re] of [[{ leader: null }, /has no leader/], [stopped, /member pg-2 of orders is not running/]] as const) {
    const { f, error } = await runWithFakes(env, 'enableBackups', { cluster: 'orders' }, { describe }, { extra: fakes(['pg-0', 'pg-1', 'pg-2']) });
    assert.equal(rootCause(error).type, 'MemberRefused');
    assert.match(rootCause(error).message, re);
    assert.ok(!f.names().includes('enableWalArchiving'));
    assert.ok(!f.names().includes('replacePostgresMember'));
  }
});

test('EnableBackups in sync mode waits for a synchronous standby before the switchover', async () => {
  const sync = { settings: { ...healthyCluster.settings, sync: true } };
  const { f, error } = await runWithFakes(env, 'enableBackups', { cluster: 'orders' }, { describe: sync }, { extra: fakes(['pg-0', 'pg-1', 'pg-2']) });
  assert.equal(error, undefined);
  const names = f.names();
  assertCalledBefore(names, 'waitForSyncApplied', 'requestSwitchover');
});

test('EnableBackups that fails while a replica is out of HAProxy puts it back under its health checks', async () => {
  const { f, error } = await runWithFakes(env, 'enableBackups', { cluster: 'orders' }, { failOn: { waitForReplicaStreaming: 'MemberRefused' } }, { extra: fakes(['pg-0', 'pg-1', 'pg-2']) });
  assert.ok(error);
  const undrained = f.calls.filter((c) => c.name === 'undrainHaproxyServer').map((c) => (c.arg as { member: string }).member);
  assert.deepEqual(undrained, ['pg-1']);
  assert.ok(!f.names().includes('requestSwitchover'), 'nothing after the failure');
});

test('backup migrate (EnableBackups --backup-to repository-host on a volume repository): copy, every member re-created, the WAL archived meanwhile copied, stanza checked, then the volume removed', async () => {
  const calls: string[] = [];
  const copy = async () => {
    calls.push('copy');
    return { labels: ['20261201-100000F'] };
  };
  const extra = { ...fakes([]), copyVolumeRepositoryToHost: copy, removeMovedRepositoryVolume: async () => ({ removed: true }) };
  const { f, error, result } = await runWithFakes(env, 'enableBackups', { cluster: 'orders', backupTo: { location: { type: 'host' } } }, {}, { extra });
  assert.equal(error, undefined);
  assert.deepEqual(result, { cluster: 'orders', recreated: ['pg-1', 'pg-2', 'pg-0'], leader: 'pg-1', moved: { volume: 'dbaas-orders-backup-repo', backups: 1 } });
  assert.equal(calls.length, 2, 'copied before and after the roll');
  const names = f.names();
  assertCalledBefore(names, 'ensureBackupRepository', 'replacePostgresMember');
  assertCalledBefore(names, 'createStanza', 'removeMovedRepositoryVolume');
});

test('EnableBackups --backup-to on a cluster whose repository is in S3 (or a volume to S3) is refused: only a volume moves, onto the repository host', async () => {
  const extra = { ...fakes([]), repositoryLayout: async () => ({ kind: 's3', volume: false, membersOffHost: ['pg-0', 'pg-1', 'pg-2'] }) };
  const { error } = await runWithFakes(env, 'enableBackups', { cluster: 'orders', backupTo: { location: { type: 'host' } } }, {}, { extra });
  assert.match(rootCause(error).message, /already has a backup repository/);
});
