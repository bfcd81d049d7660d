/**
 * What the cutover and the rollback after it share (docs/design/blue-green-upgrade.md, step 7):
 * writes move from one generation to the other while the poolers are paused. The pause has a
 * deadline; a failure inside it, or the deadline, puts the generation that served back before the
 * poolers resume (workflows/upgrade/put-back.ts), and the run's error names the cause and whatever
 * of the put-back failed.
 */
import { ActivityCancellationType, ApplicationFailure, CancellationScope, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ProfileName } from '../../common/spec';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { FINAL_ERRORS, cleanup } from '../activity-options';
import type { Steps } from '../steps';
import { afterFailedMove } from './put-back';

/**
 * How long writes may stay paused before the move gives up. Pooled clients' queries wait on the
 * paused poolers for PgBouncer's query_wait_timeout and then fail: common/render/pgbouncer.ts does
 * not set it, so it is PgBouncer's default, 120 s. This, the wait for the cancelled step to stop
 * (a keep-alive heartbeat carries the cancellation within about 8 s, and the steps stop at their
 * next sleep or check) and the put-back (PUT_BACK_LIMIT_MS, 40 s, with the check whether the move
 * went through) come to about 95 s. A step that ignored its cancellation would still end at its
 * start-to-close (30 s): 115 s. The first cutover measured paused writes for 8.9 s.
 */
export const WRITE_PAUSE_LIMIT_MS = 45_000;
/** The limit before s22: runs that started with it keep it. */
const WRITE_PAUSE_LIMIT_BEFORE_MS = 60_000;
const WRITE_PAUSE_45S_PATCH = 'write-pause-limit-45s';

/** The pause's limit of a run that was given none (tests give one). */
export const writePauseLimit = (): number => (patched(WRITE_PAUSE_45S_PATCH) ? WRITE_PAUSE_LIMIT_MS : WRITE_PAUSE_LIMIT_BEFORE_MS);

/**
 * The steps inside the pause. At the deadline each is cancelled and waited for until it stopped
 * (WAIT_CANCELLATION_COMPLETED): the put-back then reads what the step did, instead of racing an
 * activity that still runs (a stopWrites after the put-back's allowWrites; a serveMembers whose
 * last command lands after the check). The worker's keep-alive heartbeats carry the cancellation
 * to them within seconds; their start-to-close bounds one that does not heed it. Final errors are
 * not retried.
 */
export const insidePause = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5, nonRetryableErrorTypes: FINAL_ERRORS },
});

export interface GenerationLeader {
  generation: number;
  leader: string;
}

/** A move of writes from one generation to another. */
export interface WriteMove {
  cluster: string;
  /** 'the cutover', 'the rollback': how the run's error names it. */
  what: string;
  /** Serving when the pause began: put back if the move fails. */
  from: GenerationLeader;
  to: GenerationLeader;
  /** The upgrade's new generation: `upgrade status` says cut over while the serving file names it. */
  newGeneration: number;
  profile: ProfileName;
  statsPort: number;
  /** How long writes may stay paused (WRITE_PAUSE_LIMIT_MS but in tests). */
  limitMs: number;
}

export const stopWritesStep = (m: string): string => `stop writes on ${m} (read-only, its sessions ended)`;
export const serveStep = (g: number, leader: string): string => `serve from generation ${g}: HAProxy rw on ${leader}`;

/** The steps inside the pause, each cancelled at the pause's deadline. */
export class PausedWrites {
  /** The serving file may name `to` (and HAProxy may follow it): a put-back moves both back. */
  servingMoved = false;
  private readonly deadline: number;

  constructor(private readonly steps: Steps, private readonly status: UpgradeStatus, readonly move: WriteMove) {
    // Workflow time: deterministic.
    this.deadline = Date.now() + move.limitMs;
  }

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.steps.run(name, async () => {
      const left = this.deadline - Date.now();
      if (left <= 0) throw this.overrun(name);
      const outer = CancellationScope.current();
      try {
        // A timer of the workflow's: the step's activity is cancelled when it fires.
        return await CancellationScope.withTimeout(left, fn);
      } catch (err) {
        // Cancelled while the run itself was not: the deadline.
        if (isCancellation(err) && !outer.consideredCancelled) throw this.overrun(name);
        throw err;
      }
    });
  }

  /** The serving file names `to`; from here a failure puts it back (HAProxy renders from it). */
  async serveTo(): Promise<void> {
    const { cluster, to, newGeneration } = this.move;
    this.servingMoved = true;
    // Counted as moved before the write: one that landed but did not report back must not let the
    // run remove a generation the file names (the undo after a cutover, a finish after a rollback).
    this.status.cutOver = to.generation === newGeneration;
    await insidePause.setServingGeneration({ cluster, generation: to.generation });
  }

  private overrun(step: string): ApplicationFailure {
    return ApplicationFailure.nonRetryable(`writes were paused for ${this.move.limitMs / 1000} s, the limit (pooled queries fail after PgBouncer's query_wait_timeout, ` +
      `120 s), and "${step}" had not finished`);
  }
}

/**
 * Pauses the poolers, runs `inside` and resumes them; returns how long writes were paused. The
 * pause is inside the try: one that failed half-way (one pooler paused) is resumed too.
 */
export async function moveWrites(steps: Steps, status: UpgradeStatus, move: WriteMove, names: { pause: string; resume: string },
  inside: (p: PausedWrites) => Promise<void>): Promise<number> {
  const { cluster } = move;
  const p = new PausedWrites(steps, status, move);
  let pausedAt = 0;
  try {
    pausedAt = (await p.run(names.pause, () => insidePause.signalPoolers({ cluster, pause: true }))).at;
    await inside(p);
  } catch (err) {
    // Returns when the move went through all the same (the move stands); throws otherwise.
    await CancellationScope.nonCancellable(() => afterFailedMove(steps, status, move, p.servingMoved, err));
  }
  // The poolers must come back: cleanup's retries, and not cancellable (a cancellation of the run
  // between the move and here would leave every pooled query waiting until it fails).
  const resumed = await CancellationScope.nonCancellable(() => steps.run(names.resume, () => cleanup.signalPoolers({ cluster, pause: false })));
  return resumed.at - pausedAt;
}

