/**
 * What a move of writes (workflows/upgrade/write-pause.ts) does when it fails inside its pause,
 * before the poolers resume: it asks whether the move went through anyway (then it stands), else
 * puts the generation that served back. The run's error says what of that failed, and its type
 * tells the run which generations it must keep.
 */
import { ApplicationFailure, CancellationScope, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { innermostMessage } from '../../common/error-chain';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { FINAL_ERRORS, cleanup } from '../activity-options';
import type { Steps } from '../steps';
import type { WriteMove } from './write-pause';

/**
 * The check whether the move went through and the put-back's steps before the poolers resume,
 * all together. The pause's deadline (WRITE_PAUSE_LIMIT_MS), the wait for a cancelled step to stop
 * and this stay under PgBouncer's query_wait_timeout (120 s): a pooled query waits, and does not fail.
 */
export const PUT_BACK_LIMIT_MS = 40_000;

/**
 * The put-back's steps while clients wait: seconds and one retry each, not cleanup's minutes
 * (HAProxy's move took 3.9 s when measured), and all of them within PUT_BACK_LIMIT_MS.
 */
const putBack = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes: FINAL_ERRORS },
});

/** Whether the move went through: one short read, its answer or none within the put-back's limit. */
const onRwCheck = proxyActivities<Activities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 1 } });

/** Runs from before s22 took an unanswered check as "not gone through", put back with a limit of its own, and gave a failed put-back no type. */
const PUT_BACK_OUTCOME_PATCH = 'put-back-budget-keeps-unknown-moves';

/** Types of a failed move's error that end the run with both generations. */
const MoveFailures = {
  /** HAProxy may still send clients to the generation the move went to: it stays. */
  HaproxyNotPutBack: 'HaproxyNotPutBack',
  /** Whether clients reached the generation the move went to could not be told: it stays, with what they may have written. */
  MoveOutcomeUnknown: 'MoveOutcomeUnknown',
  /** Another part of the put-back failed: the generations are not as they were before the move. */
  PutBackFailed: 'PutBackFailed',
} as const;

const failureType = (err: unknown): string | undefined => (err instanceof ApplicationFailure ? err.type ?? undefined : undefined);

/** The move's error says the generation it went to may have clients or their writes: the run must not remove it. */
export const keepsMovedTo = (err: unknown): boolean =>
  failureType(err) === MoveFailures.HaproxyNotPutBack || failureType(err) === MoveFailures.MoveOutcomeUnknown;

/** The move's put-back did not fully happen: deciding again on the same terms is not possible. */
export const putBackIncomplete = (err: unknown): boolean => Object.values<string | undefined>(MoveFailures).includes(failureType(err));

const putBackStep = (g: number): string => `put generation ${g} back (serving, writes, poolers)`;
const wentThroughStep = (leader: string): string => `check whether ${leader} took over (in service on HAProxy's rw)`;
const writesAgainStep = (leader: string): string => `allow writes on ${leader} again (retried after the poolers resumed)`;
const haproxyAgainStep = (g: number): string => `put HAProxy back on generation ${g} (retried after the poolers resumed)`;

/**
 * After `err` inside the pause: returns when the move stands (the new leader came UP on rw, so
 * clients may have written there: putting the old generation back would throw those
 * acknowledged writes away); throws otherwise, once the old generation is put back.
 */
export async function afterFailedMove(steps: Steps, status: UpgradeStatus, m: WriteMove, servingMoved: boolean, err: unknown): Promise<void> {
  const current = patched(PUT_BACK_OUTCOME_PATCH);
  // Workflow time: the check counts in the put-back's limit.
  const end = Date.now() + PUT_BACK_LIMIT_MS;
  let movedTo: boolean | 'unknown' = false;
  if (servingMoved) {
    movedTo = await steps.run(wentThroughStep(m.to.leader), () => onRwCheck.servesOnRw({ cluster: m.cluster, member: m.to.leader }))
      .catch(() => (current ? 'unknown' : false));
  }
  if (movedTo === true) return;
  const back = await putGenerationBack(steps, status, m, servingMoved, current ? Math.max(end - Date.now(), 1) : PUT_BACK_LIMIT_MS);
  if (back.failed === null && movedTo === false) throw err;
  const parts = [
    ...(back.failed !== null ? [`putting generation ${m.from.generation} back also failed: ${back.failed}`] : []),
    ...(movedTo === 'unknown' ? [`whether clients reached ${m.to.leader} through rw could not be told: generation ${m.to.generation} is kept, read-only, with what they may have written`] : []),
  ];
  const type = back.haproxyLeft ? MoveFailures.HaproxyNotPutBack : movedTo === 'unknown' ? MoveFailures.MoveOutcomeUnknown : current ? MoveFailures.PutBackFailed : undefined;
  // All in the message alone (the CLI shows a failure's innermost message).
  throw ApplicationFailure.nonRetryable(`${m.what} failed: ${innermostMessage(err)}; ${parts.join('; ')}`, type);
}

/**
 * `from` serves again and takes writes, and the poolers go on. Each part is tried even when one
 * before it failed; returns what failed (null: nothing), which also shows on the step.
 *
 * The order. The poolers come last: PAUSE closed PgBouncer's server connections, and the first
 * query after RESUME opens new ones through HAProxy as it is then. Resumed while HAProxy may still
 * send rw to `to`'s leader, pooled writes would land there and, after a failed cutover, be thrown
 * away with generation 2: acknowledged, then lost. Held a moment longer they only wait. So the
 * steps before the resume are bounded (putBack's options: seconds, not cleanup's minutes, and
 * `limitMs` for all), and `to` is made read-only first (its sessions ended: direct clients that
 * reached it through rw reconnect), so a write that still reaches it while HAProxy cannot be put
 * back fails instead of being lost. The poolers then resume whatever failed: held without end they
 * would stop every pooled client until someone resumes them by hand.
 */
async function putGenerationBack(steps: Steps, status: UpgradeStatus, m: WriteMove, servingMoved: boolean, limitMs: number): Promise<{ failed: string | null; haproxyLeft: boolean }> {
  const { cluster, from, to } = m;
  const failed: string[] = [];
  const attempt = async (what: string, f: () => Promise<unknown>): Promise<boolean> => {
    try {
      await f();
      return true;
    } catch (e) {
      // Past the limit the scope's cancellation says which part it stopped.
      failed.push(`${what}: ${isCancellation(e) ? `not done within ${PUT_BACK_LIMIT_MS / 1000} s` : innermostMessage(e)}`);
      return false;
    }
  };
  let haproxyBack = true;
  // The leader that must take writes again once the put-back is over, and whether it does.
  let writer = from.leader;
  let writesBack = true;
  await steps.run(putBackStep(from.generation), async () => {
    await CancellationScope.withTimeout(limitMs, async () => {
      // Writes only ever on the generation the serving file names.
      let fromServes = true;
      if (servingMoved) {
        // While the file still names `to` (the activity may read the serving generation).
        await attempt(`read-only on ${to.leader}`, () => putBack.stopWrites({ cluster, member: to.leader }));
        fromServes = await attempt('serving generation', async () => {
          await putBack.setServingGeneration({ cluster, generation: from.generation });
          status.cutOver = from.generation === m.newGeneration;
        });
        if (fromServes) {
          // HAProxy renders from the file: it goes back only once the file did.
          haproxyBack = await attempt('HAProxy', () => putBack.serveMembers({ cluster, profile: m.profile, statsPort: m.statsPort, leader: from.leader }));
        } else {
          // The file still names `to`: it serves (the run keeps it), and takes writes again.
          writer = to.leader;
        }
      }
      writesBack = await attempt(`writes on ${writer}`, () => putBack.allowWrites({ cluster, member: writer }));
    });
    await attempt('poolers', () => cleanup.signalPoolers({ cluster, pause: false }));
    if (failed.length > 0) throw new Error(failed.join('; '));
  }).catch(() => undefined);
  const retried = (part: string): void => {
    const k = failed.findIndex((f) => f.startsWith(`${part}:`));
    if (k >= 0) failed.splice(k, 1);
  };
  if (!writesBack) {
    // Past the put-back's limit, or failed: without this the generation that serves stays
    // read-only for good (a cutover that failed on a sick HAProxy, the limit hit before this part).
    writesBack = await steps.run(writesAgainStep(writer), () => cleanup.allowWrites({ cluster, member: writer })).then(() => true, () => false);
    if (writesBack) retried(`writes on ${writer}`);
    else failed.push(`writes on ${writer}, retried: its generation stays read-only (ALTER SYSTEM RESET default_transaction_read_only on its members)`);
  }
  if (!haproxyBack) {
    // Clients wait no longer (the poolers resumed); writes that reach `to` through a HAProxy not
    // yet moved fail (it is read-only). Now with cleanup's retries, minutes of them.
    haproxyBack = await steps.run(haproxyAgainStep(from.generation), () =>
      cleanup.serveMembers({ cluster, profile: m.profile, statsPort: m.statsPort, leader: from.leader })).then(() => true, () => false);
    if (haproxyBack) retried('HAProxy');
    else failed.push(`HAProxy, retried: it may still send clients to generation ${to.generation}, which is kept (read-only)`);
  }
  return { failed: failed.length > 0 ? failed.join('; ') : null, haproxyLeft: !haproxyBack };
}
