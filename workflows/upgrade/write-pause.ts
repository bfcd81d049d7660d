/**
 * What the cutover and the rollback after it share (docs/design/blue-green-upgrade.md, step 7):
 * writes move from one generation to the other while the poolers are paused. The pause has a
 * deadline; a failure inside it, or the deadline, puts the generation that served back before the
 * poolers resume, and the run's error names the cause and whatever of the put-back failed.
 */
import { ActivityCancellationType, ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { innermostMessage } from '../../common/error-chain';
import type { ProfileName } from '../../common/spec';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { cleanup } from '../activity-options';
import type { Steps } from '../steps';

/**
 * How long writes may stay paused before the move gives up. Pooled clients' queries wait on the
 * paused poolers for PgBouncer's query_wait_timeout and then fail: common/render/pgbouncer.ts does
 * not set it, so it is PgBouncer's default, 120 s. Half of that leaves the other half for putting
 * the old generation back (seconds when all goes well) before a waiting query fails. The first
 * cutover measured paused writes for 8.9 s.
 */
export const WRITE_PAUSE_LIMIT_MS = 60_000;

/**
 * The steps inside the pause. At the deadline each is cancelled and waited for until it stopped
 * (WAIT_CANCELLATION_COMPLETED): the put-back then reads what the step did, instead of racing an
 * activity that still runs (a stopWrites after the put-back's allowWrites; a serveMembers whose
 * last command lands after the check). Their start-to-close is under a minute, so the worker's
 * keep-alive heartbeats carry the cancellation to them within seconds.
 */
export const insidePause = proxyActivities<Activities>({
  startToCloseTimeout: '55 seconds',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5 },
});

/**
 * The put-back's steps before the poolers resume, while clients wait: seconds and one retry each,
 * not cleanup's minutes (HAProxy's move took 3.9 s when measured), and all of them within
 * PUT_BACK_LIMIT_MS.
 */
const putBack = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumAttempts: 2 },
});

/**
 * The put-back before the poolers resume, all steps together. The pause's deadline (60 s), the
 * wait for a cancelled step to stop (a heartbeat: under 10 s) and this stay under PgBouncer's
 * query_wait_timeout (120 s): a pooled query waits, and does not fail.
 */
const PUT_BACK_LIMIT_MS = 40_000;

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
const putBackStep = (g: number): string => `put generation ${g} back (serving, writes, poolers)`;
const wentThroughStep = (leader: string): string => `check whether ${leader} took over (in service on HAProxy's rw)`;
const writesAgainStep = (leader: string): string => `allow writes on ${leader} again (retried after the poolers resumed)`;
const haproxyAgainStep = (g: number): string => `put HAProxy back on generation ${g} (retried after the poolers resumed)`;

/** The type of the error of a move whose put-back left HAProxy where it was: the generation it may point at must stay. */
const HAPROXY_NOT_PUT_BACK = 'HaproxyNotPutBack';

export const isHaproxyNotPutBack = (err: unknown): boolean => err instanceof ApplicationFailure && err.type === HAPROXY_NOT_PUT_BACK;

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
    // A failure reported after the new leader came UP on rw (the deadline firing as the last
    // command went through, a worker killed after it): clients may have written there, so the
    // move stands. Putting the old generation back would throw those acknowledged writes away.
    const wentThrough = p.servingMoved && await CancellationScope.nonCancellable(() =>
      steps.run(wentThroughStep(move.to.leader), () => putBack.servesOnRw({ cluster, member: move.to.leader })).catch(() => false));
    if (!wentThrough) {
      const back = await CancellationScope.nonCancellable(() => putGenerationBack(steps, status, move, p.servingMoved));
      if (back.failed === null) throw err;
      // Both in the message alone (the CLI shows a failure's innermost message).
      throw ApplicationFailure.nonRetryable(`${move.what} failed: ${innermostMessage(err)}; putting generation ${move.from.generation} back also failed: ${back.failed}`,
        back.haproxyLeft ? HAPROXY_NOT_PUT_BACK : undefined);
    }
  }
  // The poolers must come back: cleanup's retries, and not cancellable (a cancellation of the run
  // between the move and here would leave every pooled query waiting until it fails).
  const resumed = await CancellationScope.nonCancellable(() => steps.run(names.resume, () => cleanup.signalPoolers({ cluster, pause: false })));
  return resumed.at - pausedAt;
}

/**
 * `from` serves again and takes writes, and the poolers go on. Each part is tried even when one
 * before it failed; returns what failed (null: nothing), which also shows on the step.
 *
 * The order. The poolers come last: PAUSE closed PgBouncer's server connections, and the first
 * query after RESUME opens new ones through HAProxy as it is then. Resumed while HAProxy may still
 * send rw to `to`'s leader, pooled writes would land there and, after a failed cutover, be thrown
 * away with generation 2: acknowledged, then lost. Held a moment longer they only wait. So the
 * steps before the resume are bounded (putBack's options: seconds, not cleanup's minutes), and
 * `to` is made read-only first (its sessions ended: direct clients that reached it through rw
 * reconnect), so a write that still reaches it while HAProxy cannot be put back fails instead of
 * being lost. The poolers then resume whatever failed: held without end they would stop every
 * pooled client until someone resumes them by hand.
 */
async function putGenerationBack(steps: Steps, status: UpgradeStatus, m: WriteMove, servingMoved: boolean): Promise<{ failed: string | null; haproxyLeft: boolean }> {
  const { cluster, from, to } = m;
  const failed: string[] = [];
  const attempt = async (what: string, f: () => Promise<unknown>): Promise<boolean> => {
    try {
      await f();
      return true;
    } catch (e) {
      // Past PUT_BACK_LIMIT_MS the scope's cancellation says which part it stopped.
      failed.push(`${what}: ${isCancellation(e) ? `not done within ${PUT_BACK_LIMIT_MS / 1000} s` : innermostMessage(e)}`);
      return false;
    }
  };
  let haproxyBack = true;
  // The leader that must take writes again once the put-back is over, and whether it does.
  let writer = from.leader;
  let writesBack = true;
  await steps.run(putBackStep(from.generation), async () => {
    await CancellationScope.withTimeout(PUT_BACK_LIMIT_MS, async () => {
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
