/**
 * UpgradeBlueGreen with fake activities: the full backup of the old major before the cutover (the
 * way back once `finish` removed the old members), skipped with `--no-backup` or without backups,
 * and the run's own backups expiring nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { healthyCluster } from '../helpers/fake-activities';
import { madeBackup } from '../helpers/fake-backup';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import { positionOf } from '../helpers/order';
import { answer, argsOf, blueGreenFakes, withBackups } from '../helpers/blue-green-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const BACKUP_STEP = 'backup on PostgreSQL 15 (full), the way back';
const withoutBackups = { settings: { ...healthyCluster.settings, backups: false } };

/** Answers `signal` once the run waits, keeping the status it showed then. */
const answerSeeing = (seen: { status?: UpgradeStatus }, signal: string, arg?: unknown) => async (h: WorkflowHandle): Promise<void> => {
  await answer(signal, arg)(h);
  seen.status = await h.query<UpgradeStatus>('upgradeStatus');
};

test('UpgradeBlueGreen: a full backup of generation 1 once the copy runs, before the catch-up and the pause; it and the stanza\'s moves expire nothing; the result and status name it', async () => {
  const seen: { status?: UpgradeStatus } = {};
  const { f, result, progress } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), whileRunning: answerSeeing(seen, 'upgradeFinish') });
  assert.equal((result as { outcome: string }).outcome, 'finished');
  const names = f.names();
  const backup = positionOf(names, 'runBackup');
  assert.ok(positionOf(names, 'startLogicalCopy') < backup, 'the copy runs while it backs up');
  assert.ok(backup < positionOf(names, 'signalPoolers'), 'before the write pause');
  assert.ok(backup < names.lastIndexOf('logicalCopyProgress'), 'the catch-up follows it: the pause does not pay for the backup');
  assert.ok(backup < positionOf(names, 'archiveCurrentWal'), 'taken on generation 1, before the stanza moves');
  assert.deepEqual(argsOf(f, 'runBackup').map((a) => [a.type, a.expire]), [['full', false], ['full', false]], 'before the cutover and on 17 at the cutover: both expire nothing');
  const planned = progress.steps.map((s) => s.name);
  assert.ok(planned.indexOf(BACKUP_STEP) < planned.indexOf('pause the poolers (PgBouncer PAUSE)'));
  assert.equal(progress.steps.find((s) => s.name === BACKUP_STEP)?.state, 'done');
  assert.deepEqual(seen.status?.backupBefore, { label: madeBackup.label, stoppedAt: madeBackup.stoppedAt });
  assert.deepEqual((result as { backupBefore: unknown }).backupBefore, seen.status?.backupBefore);
});

test('UpgradeBlueGreen: the rollback\'s backup back on 15 expires nothing either (the one before the cutover stays)', async () => {
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), whileRunning: answer('upgradeRollback', { discardWrites: true }) });
  assert.equal((result as { outcome: string }).outcome, 'rolled-back');
  assert.deepEqual(argsOf(f, 'runBackup').map((a) => a.expire), [false, false, false], 'before the cutover, on 17, back on 15');
});

test('UpgradeBlueGreen --no-backup: the step says so and is skipped; nothing is backed up before the pause', async () => {
  const seen: { status?: UpgradeStatus } = {};
  const { f, result, progress } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17, backupBeforeCutover: false }, { describe: withBackups },
    { extra: blueGreenFakes(), whileRunning: answerSeeing(seen, 'upgradeFinish') });
  assert.equal((result as { outcome: string }).outcome, 'finished');
  const names = f.names();
  assert.ok(positionOf(names, 'signalPoolers') < positionOf(names, 'runBackup'), 'the only backup is 17\'s, after the cutover');
  assert.equal(argsOf(f, 'runBackup').length, 1);
  assert.deepEqual(progress.steps.find((s) => s.name === 'no backup before the cutover (--no-backup)')?.state, 'skipped');
  assert.ok(!progress.steps.some((s) => s.name === BACKUP_STEP));
  assert.deepEqual(seen.status?.backupBefore, { none: 'upgrade --no-backup' });
  assert.deepEqual((result as { backupBefore: unknown }).backupBefore, { none: 'upgrade --no-backup' });
});

test('UpgradeBlueGreen on a cluster without backups: the backup step is skipped, saying why; no backup at all', async () => {
  const { f, result, progress } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withoutBackups },
    { extra: blueGreenFakes(), whileRunning: answer('upgradeFinish') });
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.ok(!f.names().includes('runBackup'));
  const skipped = progress.steps.find((s) => s.name.startsWith('no backup before the cutover'));
  assert.deepEqual([skipped?.name, skipped?.state], ['no backup before the cutover: orders has no backups (`dbaas backup enable orders` adds them)', 'skipped']);
});

test('UpgradeBlueGreen: a backup before the cutover that fails ends the run before any pause; generation 2 goes', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), runBackup: async () => { throw ApplicationFailure.create({ type: 'Stalled', nonRetryable: true, message: 'the full backup stood still' }); } },
  });
  assert.match(rootCause(error).message, /the full backup stood still/);
  assert.ok(!f.names().includes('signalPoolers'), 'no pause');
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5'], 'generation 2 removed');
});

test('UpgradeBlueGreen refuses a backupBeforeCutover that is not true or false, before it asks for the lease', async () => {
  const taskQueue = 'backup-input-refused';
  const worker = await createTestWorker(env, taskQueue, {});
  const error = await worker.runUntil(env.client.workflow.execute('upgradeBlueGreen', { taskQueue, workflowId: taskQueue, args: [{ cluster: 'orders', to: 17, backupBeforeCutover: 'no' }] })
    .then(() => undefined, (err: unknown) => err));
  assert.match(rootCause(error).message, /backupBeforeCutover must be true or false, got "no"/);
});
