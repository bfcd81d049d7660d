/** Backup and VerifyBackup decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupSummary, StanzaSummary } from '../../common/backup';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes, type ExtraActivity } from '../helpers/run-with-fakes';
import { assertCalledBefore } from '../helpers/order';
import { madeBackup, stanzaStatus } from '../helpers/fake-backup';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const made = madeBackup;
const status = stanzaStatus;
const fakes = (o: { backups?: BackupSummary[]; statusCode?: number; repository?: boolean; recorded?: Record<string, number> | null; restored?: Record<string, number>; standby?: string } = {}): Record<string, ExtraActivity> => ({
  clusterHasRepository: async () => o.repository ?? true,
  backupStandby: async () => o.standby ?? null,
  backupStatus: async () => status(o.backups ?? [], o.statusCode),
  runBackup: async () => made,
  recordRowCounts: async () => ({ at: '2026-11-23 12:00:06.000+00', tables: 1 }),
  recordedRowCounts: async () => (o.recorded === null ? null : { at: '2026-11-23 12:00:06.000+00', tables: o.recorded ?? { 'public.orders': 10 } }),
  countRowsNow: async () => o.restored ?? { 'public.orders': 10 },
  saveRetention: async () => ({ full: 2 }),
});
const input = { cluster: 'orders', type: 'full', fromStandby: false };

test('Backup: one backup on the leader, then the row counts for restore drills', async () => {
  let stanzaReads = 0;
  const counted = { ...fakes(), backupStatus: async () => (stanzaReads++, status([])) };
  const { f, error, result } = await runWithFakes(env, 'backup', input, {}, { extra: counted });
  assert.equal(error, undefined);
  assert.deepEqual(result, made);
  const names = f.names();
  assert.equal(names.filter((n) => n === 'runBackup').length, 1);
  assertCalledBefore(names, 'runBackup', 'recordRowCounts');
  assert.ok(!names.includes('createStanza'));
  assert.equal(stanzaReads, 1, 'nothing else held the cluster: the reads made beside the lease request are the check');
});

test('Backup: a failed row count leaves the backup made (the CLI has reported it by then); the step shows the failure', async () => {
  const failing = { ...fakes(), recordRowCounts: async () => {
    throw ApplicationFailure.create({ type: 'ConnectionRefused', message: 'rw did not answer', nonRetryable: true });
  } };
  const { error, result } = await runWithFakes(env, 'backup', input, {}, { extra: failing });
  assert.equal(error, undefined);
  assert.deepEqual(result, made);
});

test('Backup runs on the leader\'s host; when the leader moved before the step reached it (LeaderElsewhere), the step goes where the leader is now', async () => {
  let tries = 0;
  const moved = { ...fakes(), runBackup: async () => {
    tries++;
    if (tries === 1) throw ApplicationFailure.create({ type: 'LeaderElsewhere', message: 'the leader of orders, pg-0, does not run on a host this worker owns', nonRetryable: true });
    return made;
  } };
  const { f, error, result } = await runWithFakes(env, 'backup', input, {}, { extra: moved });
  assert.equal(error, undefined);
  assert.deepEqual(result, made);
  assert.deepEqual(f.names().filter((n) => n === 'leaderHost' || n === 'runBackup'), ['leaderHost', 'runBackup', 'leaderHost', 'runBackup']);
});

test('Backup gives up on a leader that keeps moving: the third LeaderElsewhere fails it with the reason', async () => {
  const moving = { ...fakes(), runBackup: async () => {
    throw ApplicationFailure.create({ type: 'LeaderElsewhere', message: 'the leader of orders, pg-0, does not run on a host this worker owns', nonRetryable: true });
  } };
  const { f, error } = await runWithFakes(env, 'backup', input, {}, { extra: moving });
  assert.equal(rootCause(error).type, 'LeaderElsewhere');
  assert.equal(f.names().filter((n) => n === 'runBackup').length, 3);
});

test('Backup creates a missing stanza first (the first backup of a cluster)', async () => {
  const { f, error } = await runWithFakes(env, 'backup', input, {}, { extra: fakes({ statusCode: 1 }) });
  assert.equal(error, undefined);
  assertCalledBefore(f.names(), 'createStanza', 'runBackup');
});

test('Backup reads the data files from the standby that can serve them, unless --from-primary', async () => {
  const { f, error } = await runWithFakes(env, 'backup', input, {}, { extra: fakes({ standby: 'pg-2' }) });
  assert.equal(error, undefined);
  assert.equal((f.calls.find((c) => c.name === 'runBackup')?.arg as { standby?: string }).standby, 'pg-2');
  const primary = await runWithFakes(env, 'backup', { ...input, fromPrimary: true }, {}, { extra: fakes({ standby: 'pg-2' }) });
  assert.equal(primary.error, undefined);
  assert.equal((primary.f.calls.find((c) => c.name === 'runBackup')?.arg as { standby?: string }).standby, undefined);
  assert.ok(!primary.f.names().includes('backupStandby'), 'no standby is looked for');
});

test('Backup refuses --from-standby with no standby to serve, a cluster without a leader and one without a repository, before any backup', async () => {
  for (const [arg, describe, extra, re] of [
    [{ ...input, fromStandby: true }, {}, fakes(), /no replica of orders can serve a backup/],
    [{ ...input, fromStandby: true, fromPrimary: true }, {}, fakes(), /contradict/],
    [input, { leader: null }, fakes(), /has no leader/],
    [input, {}, fakes({ repository: false }), /has no backup repository .*backup enable/],
    [{ ...input, retention: { full: 0 } }, {}, fakes(), /--retention-full must be/],
  ] as const) {
    const { f, error } = await runWithFakes(env, 'backup', arg, { describe }, { extra });
    assert.equal(rootCause(error).type, 'MemberRefused');
    assert.match(rootCause(error).message, re);
    assert.ok(!f.names().includes('runBackup'));
  }
});

test('VerifyBackup: restore to the counts\' moment into a scratch cluster, compare, delete it', async () => {
  const { f, error, result } = await runWithFakes(env, 'verifyBackup', { cluster: 'orders' }, {}, { extra: fakes({ backups: [made] }) });
  assert.equal(error, undefined);
  const r = result as { label: string; scratchCluster: string; mismatches: string[]; countsCompared: boolean };
  assert.equal(r.label, made.label);
  assert.match(r.scratchCluster, /^vfy-[0-9a-f]{8}$/);
  assert.deepEqual(r.mismatches, []);
  assert.equal(r.countsCompared, true);
  const restored = f.calls.find((c) => c.name === 'restoreMemberData')?.arg as { member: string; restoreFrom?: { source: string; target: unknown } };
  assert.equal(restored.member, 'pg-0');
  assert.deepEqual(restored.restoreFrom, { source: 'orders', target: { kind: 'time', time: '2026-11-23 12:00:06.000+00' } });
  assertCalledBefore(f.names(), 'restoreMemberData', 'startPostgresMember', 'the data is restored before the member starts');
  assert.ok(f.names().includes('removeRestoreHelper'));
  assert.ok(!f.names().includes('runBackup'), 'a scratch cluster takes no first backup');
  assertCalledBefore(f.names(), 'countRowsNow', 'removeCluster', 'the scratch cluster is deleted after the check');
});

test('VerifyBackup fails on a count that differs, and still deletes the scratch cluster', async () => {
  const { f, error } = await runWithFakes(env, 'verifyBackup', { cluster: 'orders' }, {}, { extra: fakes({ backups: [made], restored: { 'public.orders': 9 } }) });
  assert.equal(rootCause(error).type, 'RestoreDrillFailed');
  assert.match(rootCause(error).message, /public\.orders: 10 at backup time, 9 restored/);
  assert.ok(f.names().includes('removeCluster'));
});

test('VerifyBackup refuses a cluster without backups', async () => {
  const { error, f } = await runWithFakes(env, 'verifyBackup', { cluster: 'orders' }, {}, { extra: fakes() });
  assert.match(rootCause(error).message, /has no backup to verify/);
  assert.ok(!f.names().includes('startPostgresMember'));
});

test('a quick step twice as slow as the 10 s heartbeat timeout is kept alive by the worker: it ends on its first attempt', async () => {
  // `saveRetention` runs with the `quick` options (heartbeat timeout 10 s) and does not heartbeat
  // itself; its first attempt takes 20 s, a retry is instant. Twice the timeout: on a loaded
  // machine the server's timeout fires late, and a 12 s step could end before it.
  const slowOnce = (): Record<string, ExtraActivity> => {
    let attempts = 0;
    return {
      ...fakes(),
      saveRetention: async () => {
        if (attempts++ === 0) await new Promise((r) => setTimeout(r, 20_000));
        return { full: 2 };
      },
    };
  };
  const { f, error } = await runWithFakes(env, 'backup', { ...input, retention: { full: 2 } }, {}, { extra: slowOnce() });
  assert.equal(error, undefined, String(error));
  assert.equal(f.names().filter((n) => n === 'saveRetention').length, 1, 'one attempt, not cut off and retried');
  // Without the keep-alive, the same step times out on its heartbeat and is tried again.
  const bare = await runWithFakes(env, 'backup', { ...input, retention: { full: 2 } }, {}, { extra: slowOnce(), keepAlive: false });
  assert.equal(bare.error, undefined, String(bare.error));
  assert.equal(bare.f.names().filter((n) => n === 'saveRetention').length, 2, 'cut off after 10 s and retried');
});
