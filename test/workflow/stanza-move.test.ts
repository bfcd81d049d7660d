/**
 * A blue/green upgrade's stanza move (workflows/upgrade/stanza-move.ts) with fake activities: where
 * the stanza is comes from the repository when its stanza-upgrade step fails, so a rollback moves
 * it back only when it moved.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { startTestTemporal } from '../helpers/temporal';
import { runWithFakes, type ExtraActivity } from '../helpers/run-with-fakes';
import { assertCalledBefore } from '../helpers/order';
import { stanzaStatus } from '../helpers/fake-backup';
import { answer, argsOf, blueGreenFakes, withBackups } from '../helpers/blue-green-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const FORWARD_STEP = 'move the backup stanza to PostgreSQL 17 (stanza-upgrade, check)';
const CHECK_TIMED_OUT = 'pgbackrest check on pg-3 failed (exit 82): WAL segment 000000010000000000000005 was not archived before the 60000ms timeout';

/**
 * The repository's stanza as the fakes move it. The first upgradeStanza (the cutover's) fails:
 * after its stanza-upgrade went through (`moved`), or before. Later ones go through, each moving
 * the stanza to the other major. `infoFails`: pgBackRest's info cannot be read once it failed.
 */
function stanzaFakes(o: { moved: boolean; infoFails?: boolean }): Record<string, ExtraActivity> {
  let major = 15;
  let upgrades = 0;
  return {
    ...blueGreenFakes(),
    upgradeStanza: async () => {
      upgrades++;
      if (upgrades > 1 || o.moved) major = major === 15 ? 17 : 15;
      if (upgrades === 1) throw ApplicationFailure.create({ type: 'Error', message: CHECK_TIMED_OUT, nonRetryable: true });
      return { member: 'pg-3' };
    },
    backupStatus: async () => {
      if (o.infoFails && upgrades > 0) throw ApplicationFailure.create({ type: 'Error', message: 'info unreadable (injected)', nonRetryable: true });
      return { ...stanzaStatus([]), pgVersion: major };
    },
  };
}

const count = (names: string[], name: string): number => names.filter((n) => n === name).length;
/** Without the backup before the cutover (blue-green-backup.test.ts): the backups counted here are the stanza's moves'. */
const run = { cluster: 'orders', to: 17, backupBeforeCutover: false };

test('stanza move: a check that fails after stanza-upgrade went through leaves the stanza on 17 (the repository says so), and a rollback moves it back to 15', async () => {
  const { f, result, progress } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups },
    { extra: stanzaFakes({ moved: true }), whileRunning: answer('upgradeRollback', { discardWrites: true }) });
  assert.equal((result as { outcome: string }).outcome, 'rolled-back');
  assert.equal(progress.steps.find((s) => s.name === FORWARD_STEP)?.state, 'failed');
  // Back to 15: the new leader's last WAL, stanza-upgrade from 15, a full backup of 15, before generation 2 goes.
  assert.deepEqual(f.calls.filter((c) => c.name === 'archiveCurrentWal').map((c) => c.more), [['pg-0'], ['pg-3']]);
  assert.equal(count(f.names(), 'upgradeStanza'), 2);
  assert.equal(count(f.names(), 'runBackup'), 1, 'the forward move never reached its backup');
  assert.equal(progress.steps.find((s) => s.name === 'move the backup stanza to PostgreSQL 15 (stanza-upgrade, check)')?.state, 'done');
  assertCalledBefore(f.names().slice(f.names().lastIndexOf('upgradeStanza')), 'runBackup', 'stopMember');
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('stanza move: a stanza-upgrade that failed before moving the stanza (or info unreadable after it) leaves the stanza on 15: a rollback does not move it', async () => {
  for (const o of [{ moved: false }, { moved: true, infoFails: true }]) {
    const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups },
      { extra: stanzaFakes(o), whileRunning: answer('upgradeRollback', { discardWrites: true }) });
    assert.equal((result as { outcome: string }).outcome, 'rolled-back', JSON.stringify(o));
    assert.deepEqual(f.calls.filter((c) => c.name === 'archiveCurrentWal').map((c) => c.more), [['pg-0']], JSON.stringify(o));
    assert.equal(count(f.names(), 'upgradeStanza'), 1, JSON.stringify(o));
    assert.equal(count(f.names(), 'runBackup'), 0, JSON.stringify(o));
  }
});

test('stanza move: after a check that failed once stanza-upgrade went through, finish takes the full backup on 17 before generation 1 goes', async () => {
    const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups },
      { extra: stanzaFakes({ moved: true }), whileRunning: answer('upgradeFinish') });
    assert.equal((result as { outcome: string }).outcome, 'finished');
    assert.equal(count(f.names(), 'runBackup'), 1);
    assertCalledBefore(f.names(), 'runBackup', 'stopMember');
  });
