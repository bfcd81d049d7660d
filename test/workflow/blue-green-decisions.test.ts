/**
 * UpgradeBlueGreen with fake activities: what a failed move's put-back keeps, the check before
 * `finish` removes the old generation, and which finish or rollback signals count.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { followDecision } from '../../client/commands/upgrade-decision';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import { answer, argsOf, blueGreenFakes, failedOverLeaders, failingCall, waitingAgain, withBackups } from '../helpers/blue-green-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const run = { cluster: 'orders', to: 17 };
const status = (h: WorkflowHandle): Promise<UpgradeStatus> => h.query<UpgradeStatus>('upgradeStatus');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the run's status passes `ok`. */
const until = async (h: WorkflowHandle, ok: (s: UpgradeStatus) => boolean): Promise<UpgradeStatus> => {
  for (let i = 0; i < 200; i++) {
    const s = await status(h).catch(() => null);
    if (s && ok(s)) return s;
    await sleep(100);
  }
  throw new Error('the run never got there');
};

/** generation 2 serving as finish wants it, or with HAProxy's rw still on generation 1. */
const serving = { generation: 2, rw: [{ member: 'pg-3', takesWrites: true }] };
const rwOnGeneration1 = { generation: 2, rw: [{ member: 'pg-0', takesWrites: false }] };

test('UpgradeBlueGreen: a final error inside the pause is not retried: generation 1 is put back at once', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), stopWrites: async () => { throw ApplicationFailure.retryable('pg-0 is not a member of orders', 'MemberRefused'); } },
  });
  assert.match(rootCause(error).message, /^pg-0 is not a member of orders$/);
  assert.equal(argsOf(f, 'stopWrites').length, 1, 'MemberRefused is final');
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0']);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('UpgradeBlueGreen: when HAProxy cannot say whether the new leader took over, generation 1 is put back and generation 2 kept (clients may have written there); the check is asked once', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: {
      ...blueGreenFakes(), serveMembers: failingCall(1, { members: [] }, 'the answer to the last command was lost'),
      servesOnRw: async () => { throw ApplicationFailure.retryable('haproxy runtime API "show servers state" failed: connection refused'); },
    },
  });
  assert.equal(rootCause(error).type, 'MoveOutcomeUnknown');
  assert.match(rootCause(error).message,
    /^the cutover failed: the answer to the last command was lost; whether clients reached pg-3 through rw could not be told: generation 2 is kept, read-only, with what they may have written$/);
  assert.equal(argsOf(f, 'servesOnRw').length, 1, 'one short attempt, inside the put-back\'s limit');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2, 1]);
  assert.deepEqual(argsOf(f, 'stopWrites').map((a) => a.member), ['pg-0', 'pg-3']);
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0']);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  assert.ok(!f.names().includes('stopMember'), 'generation 2 stays');
});

test('UpgradeBlueGreen: a rollback whose put-back also fails ends the run with both generations (no second decision on a generation left read-only)', async () => {
  let allows = 0;
  const { f, error, progress } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: {
      ...blueGreenFakes(), waitForLeader: failedOverLeaders(), serveMembers: failingCall(2, { members: [] }, 'HAProxy runtime API refused'),
      // The rollback's on pg-1 works; putting generation 2 back (pg-4) fails, and so does its retry.
      allowWrites: async () => {
        if (++allows >= 2) throw ApplicationFailure.nonRetryable('pg-4: connection reset');
      },
    },
    whileRunning: answer('upgradeRollback', { discardWrites: true }),
  });
  assert.equal(rootCause(error).type, 'PutBackFailed');
  assert.match(rootCause(error).message, /^the rollback failed: HAProxy runtime API refused; putting generation 2 back also failed: writes on pg-4: pg-4: connection reset; writes on pg-4, retried: its generation stays read-only/);
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2, 1, 2]);
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-1', 'pg-4', 'pg-4']);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false, true, false]);
  assert.ok(!f.names().includes('stopMember'), 'both generations stay');
  assert.ok(!progress.steps.some((s) => s.name.startsWith('wait again')), 'no second decision');
});

test('UpgradeBlueGreen: finish removes nothing while generation 2 does not serve (HAProxy\'s rw elsewhere): the run waits again; a finish once it serves ends it', async () => {
  let reads = 0;
  let problem: string | null | undefined;
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), servingState: async () => (++reads === 1 ? rwOnGeneration1 : serving) },
    whileRunning: async (h) => {
      await answer('upgradeFinish')(h);
      problem = (await waitingAgain(h)).decisionProblem;
      await h.signal('upgradeFinish');
    },
  });
  assert.match(problem ?? '', /^upgrade finish failed: generation 2 does not serve as it should, so generation 1 stays: HAProxy's rw has \[pg-0\] UP, not one of generation 2's members \(pg-3, pg-4, pg-5\)$/);
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.equal(reads, 2);
  assert.equal(argsOf(f, 'dropSubscriptions').length, 1, 'the refused finish dropped nothing');
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-0', 'pg-1', 'pg-2']);
});

test('UpgradeBlueGreen: a rollback sent while a finish runs is ignored: the finish\'s failure is reported, the run waits again, and the decisions are counted', async () => {
  let reads = 0;
  let sent!: () => void;
  const rollbackSent = new Promise<void>((r) => (sent = r));
  let again: UpgradeStatus | undefined;
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: {
      ...blueGreenFakes(),
      // The first finish's check returns once the rollback was sent, and refuses.
      servingState: async () => {
        if (++reads > 1) return serving;
        await rollbackSent;
        return rwOnGeneration1;
      },
    },
    whileRunning: async (h) => {
      await answer('upgradeFinish')(h);
      await until(h, (s) => s.decisions === 1 && !s.awaitingDecision);
      await h.signal('upgradeRollback', { discardWrites: true });
      sent();
      again = await waitingAgain(h);
      await sleep(300);
      assert.equal((await status(h)).awaitingDecision, true, 'the rollback was not taken as the next decision');
      await h.signal('upgradeFinish');
    },
  });
  assert.match(again?.decisionProblem ?? '', /^upgrade finish failed: generation 2 does not serve/);
  assert.equal(again?.decisions, 1);
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2], 'no rollback ran');
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
});

test('UpgradeBlueGreen: a finish sent before the cutover does not count: the run waits for one after it', async () => {
  const { result } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: blueGreenFakes(),
    whileRunning: async (h) => {
      await h.signal('upgradeFinish');
      await until(h, (s) => s.awaitingDecision === true);
      await sleep(300);
      const s = await status(h);
      assert.equal(s.awaitingDecision, true, 'still waiting');
      assert.equal(s.decisions, 0);
      await h.signal('upgradeFinish');
    },
  });
  assert.equal((result as { outcome: string }).outcome, 'finished');
});

test('upgrade finish follows its own decision, not the last one\'s failure still shown while the run takes it', async () => {
  let reads = 0;
  let followed: unknown;
  const { result } = await runWithFakes(env, 'upgradeBlueGreen', run, { describe: withBackups }, {
    extra: {
      ...blueGreenFakes(),
      servingState: async () => {
        if (++reads === 1) return rwOnGeneration1;
        // The second finish takes a moment: the wait-again step and decisionProblem still show the first one's meanwhile.
        await sleep(500);
        return serving;
      },
    },
    whileRunning: async (h) => {
      await answer('upgradeFinish')(h);
      const s = await waitingAgain(h);
      await h.signal('upgradeFinish');
      followed = await followDecision(h, 'upgrade finish orders', new Set(), s.decisions);
    },
  });
  assert.equal((followed as { outcome: string }).outcome, 'finished');
  assert.deepEqual(followed, result);
});
