/**
 * A restore whose replicas fail keeps the restored leader and says how to add replicas; a plain
 * create whose replica fails is compensated as a whole, as before. Fake activities on a real
 * Temporal dev server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BackupSummary, StanzaSummary } from '../../common/backup';
import type { ConnectionInfo } from '../../common/spec';
import type { RestorePitrResult } from '../../workflows';
import { startTestTemporal } from '../helpers/temporal';
import { assertCalledBefore } from '../helpers/order';
import { rootCause, runWithFakes, type ExtraActivity } from '../helpers/run-with-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const backup: BackupSummary = {
  label: '20261123-120000F', type: 'full', startedAt: '2026-11-23T12:00:00.000Z', stoppedAt: '2026-11-23T12:00:05.000Z', durationS: 5,
  databaseBytes: 1000, repositoryBytes: 100, walStart: 'A', walStop: 'A', lsnStart: '0/1', lsnStop: '0/2', prior: null, error: false,
};
const sourceStatus: StanzaSummary = {
  stanza: 'orders', status: 'ok', statusCode: 0, backupRunning: false, archiveMin: null, archiveMax: null, cipher: 'aes-256-cbc', backups: [backup],
};
const STALLED = 'pg-1 streaming: no progress for 5 min: data directory 42 bytes';
const stalled = (): ApplicationFailure => ApplicationFailure.create({ type: 'Stalled', message: STALLED, nonRetryable: true });

/** The source's backups, the first backup of the new cluster, and pg-1's clone stalling. */
const fakes = (o: { startFailsFor?: string } = {}): Record<string, ExtraActivity> => ({
  clusterHasRepository: async () => true,
  backupStatus: async () => sourceStatus,
  runBackup: async () => backup,
  waitForReplicaStreaming: async (a: { member: string }) => {
    if (a.member === 'pg-1') throw stalled();
    return { lag: 0 };
  },
  ...(o.startFailsFor ? {
    startPostgresMember: async (a: { member: string }) => {
      if (a.member === o.startFailsFor) throw ApplicationFailure.create({ type: 'Boom', message: `${a.member} did not start`, nonRetryable: true });
    },
  } : {}),
});

const restore = { source: 'orders', into: 'copy', target: { kind: 'latest' }, replicas: 2, sync: false, profile: 'default', etcdMembers: 1 };

test('a restore whose replica fails to clone keeps the restored leader and names the replica and the command that adds it', async () => {
  const { f, error, result, progress } = await runWithFakes(env, 'restorePitr', restore, {}, { extra: fakes() });
  assert.equal(error, undefined);
  const r = result as RestorePitrResult;
  assert.deepEqual(r.cluster.failedReplicas, { members: [{ member: 'pg-1', reason: STALLED }], addCommand: 'dbaas replica add copy' });
  assert.deepEqual(r.cluster.members, ['pg-0', 'pg-2']);
  assert.equal(r.cluster.leader, 'pg-0');
  const names = f.names();
  assert.ok(!names.includes('removeCluster') && !names.includes('removeClusterVolumes'), 'no compensation: the restored leader stays');
  assert.deepEqual(f.calls.filter((c) => c.name === 'stopMember').map((c) => c.arg), [{ cluster: 'copy', member: 'pg-1' }]);
  assert.deepEqual(f.calls.filter((c) => c.name === 'removeMemberVolume').map((c) => c.arg), [{ cluster: 'copy', member: 'pg-1' }]);
  assert.ok(f.world.containers.has('pg-0') && f.world.containers.has('pg-2') && !f.world.containers.has('pg-1'));
  assert.ok(f.world.volumes.has('pg-0-data') && !f.world.volumes.has('pg-1-data'));
  assertCalledBefore(names, 'removeMemberVolume', 'reconfigureHaproxy', 'HAProxy drops pg-1 once its container is gone');
  assert.deepEqual((f.calls.find((c) => c.name === 'waitForHaproxyBackends')?.arg as { replicas: number }).replicas, 1);
  assert.equal((f.calls.find((c) => c.name === 'verifyReadWrite')?.arg as { expectReplica: boolean }).expectReplica, true);
  assert.ok(names.includes('runBackup'), 'the restored cluster still gets its first backup');
  assert.ok(progress.steps.every((s) => s.state === 'done'), JSON.stringify(progress.steps));
});

test('a restore\'s create whose replicas all fail (one to start, one to clone) keeps the leader alone and proves it through rw', async () => {
  const spec = { name: 'copy2', replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false, restoreFrom: { source: 'orders', target: { kind: 'latest' } } };
  const { f, error, result, progress } = await runWithFakes(env, 'createCluster', spec, {}, { extra: fakes({ startFailsFor: 'pg-2' }) });
  assert.equal(error, undefined);
  const info = result as ConnectionInfo;
  assert.deepEqual(info.failedReplicas?.members.map((m) => m.member).sort(), ['pg-1', 'pg-2']);
  assert.equal(info.failedReplicas?.addCommand, 'dbaas replica add copy2 --count 2');
  assert.deepEqual(info.members, ['pg-0']);
  const streamed = f.calls.filter((c) => c.name === 'waitForReplicaStreaming').map((c) => (c.arg as { member: string }).member);
  assert.deepEqual(streamed, ['pg-1'], 'pg-2 failed to start: its streaming wait is skipped');
  assert.equal((f.calls.find((c) => c.name === 'verifyReadWrite')?.arg as { expectReplica: boolean }).expectReplica, false);
  assert.ok(!f.names().includes('removeCluster'));
  const states = Object.fromEntries(progress.steps.map((s) => [s.name, s.state]));
  assert.equal(states['start pg-2'], 'failed');
  assert.equal(states['wait for pg-2 streaming'], 'skipped');
  assert.equal(states['wait for pg-1 streaming'], 'failed');
  const removal = progress.steps.find((s) => s.name.startsWith('remove the replicas that failed'));
  assert.match(removal?.name ?? '', /^remove the replicas that failed \((pg-1, pg-2|pg-2, pg-1)\); the restored leader stays$/);
  assert.equal(removal?.state, 'done');
  assert.equal(states['write via rw, read via ro'], 'skipped');
  assert.equal(states['write and read via rw'], 'done');
  assert.equal(states['start the cluster watch'], 'done');
});

test('a restore whose leader fails is compensated as a whole: nothing is kept', async () => {
  const { f, error } = await runWithFakes(env, 'restorePitr', { ...restore, into: 'copy3' }, { failOn: { waitForLeader: 'Stalled' } }, { extra: fakes() });
  assert.equal(rootCause(error).type, 'Stalled');
  assert.ok(f.names().includes('removeCluster'));
  assert.deepEqual([...f.world.containers], []);
});

test('a plain create whose replica fails to clone still fails and removes everything it made', async () => {
  const spec = { name: 'plain', replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false };
  const { f, error, result } = await runWithFakes(env, 'createCluster', spec, {}, { extra: fakes() });
  assert.equal(result as ConnectionInfo | undefined, undefined);
  assert.equal(rootCause(error).type, 'Stalled');
  assert.equal(rootCause(error).message, STALLED);
  assert.ok(f.names().includes('removeCluster'));
  assert.ok(!f.names().includes('stopMember'), 'no per-replica removal: the whole create is compensated');
  assert.deepEqual({ containers: [...f.world.containers], volumes: [...f.world.volumes] }, { containers: [], volumes: [] });
});
