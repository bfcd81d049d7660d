/** Heartbeat, warnings and cancellation-aware sleep that also work when an activity is called directly (tests, CLI). */
import { CancelledFailure, Context } from '@temporalio/activity';
import { ErrorTypes, finalError } from './errors';
import { DEFAULT_STALL_MS, ProgressWatch, stallMessage } from './progress-watch';

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The latest detail each running activity reported, so a keep-alive heartbeat repeats it instead of blanking it. */
const lastDetails = new WeakMap<Context, string>();

export function heartbeat(detail?: string): void {
  const ctx = currentContext();
  if (!ctx) return;
  if (detail !== undefined) lastDetails.set(ctx, detail);
  ctx.heartbeat(detail);
}

/**
 * Ends the activity here if the workflow cancelled it (the answer to a heartbeat carries the
 * cancellation): called before an effect the workflow may no longer want.
 */
export function throwIfCancelled(before: string): void {
  const ctx = currentContext();
  if (ctx?.cancellationSignal.aborted) throw new CancelledFailure(`cancelled before ${before}`);
}

/** A warning in the activity's log (with its workflow and activity ids), or on stderr outside one. */
export function warn(message: string): void {
  const ctx = currentContext();
  if (ctx) ctx.log.warn(message);
  else console.warn(message);
}

/** The activity's first attempt: no earlier attempt can have left anything behind. False outside an activity (the safe answer). */
export function isFirstAttempt(): boolean {
  return currentContext()?.info.attempt === 1;
}

export function lastHeartbeatDetail(ctx: Context): string | undefined {
  return lastDetails.get(ctx);
}

export async function pause(ms: number): Promise<void> {
  const ctx = currentContext();
  if (ctx) await ctx.sleep(ms);
  else await new Promise((r) => setTimeout(r, ms));
}

/**
 * The loop every wait shares: poll `probe` until it returns a value (not undefined), heartbeating
 * with its latest status line; between polls `check` may end the wait by throwing (it is given
 * the last status, so the error says what was waited on) or return a note for the heartbeat.
 */
async function pollLoop<T>(
  what: string,
  probe: () => Promise<{ done: T } | { status: string }>,
  intervalMs: number,
  check: (last: string) => Promise<string | undefined>,
): Promise<T> {
  let last = 'no answer yet';
  for (;;) {
    try {
      const r = await probe();
      if ('done' in r) return r.done;
      last = r.status;
    } catch (err) {
      last = (err as Error).message;
    }
    const note = await check(last);
    heartbeat(`${what}: ${last}${note === undefined ? '' : ` (${note})`}`);
    await pause(intervalMs);
  }
}

/** Poll `probe` until it returns a value; gives up after timeoutMs with the last status in the error. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<{ done: T } | { status: string }>,
  opts: { intervalMs: number; timeoutMs: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  return pollLoop(what, probe, opts.intervalMs, async (last) => {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    return undefined;
  });
}

export interface ProgressPolling {
  intervalMs: number;
  /** How often the progress measure is read: it may cost more than the probe (a `du` in a container). */
  measureEveryMs: number;
  /** How long the measure may stand still before the wait fails (default 5 min). */
  stallMs?: number;
}

/**
 * Like pollUntil, but with no clock: it waits as long as `measure` keeps moving (bytes copied, a
 * WAL position) and fails with a final Stalled error once it has stood still for stallMs,
 * naming the probe's last status and the last measure seen. The activity's own timeout is only
 * a backstop; its heartbeat still catches a dead worker.
 */
export async function pollWhileProgressing<T>(
  what: string,
  probe: () => Promise<{ done: T } | { status: string }>,
  measure: () => Promise<string | undefined>,
  opts: ProgressPolling,
): Promise<T> {
  const stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  const watch = new ProgressWatch(stallMs, Date.now());
  let measured: string | undefined;
  let measuredAt = Number.NEGATIVE_INFINITY;
  return pollLoop(what, probe, opts.intervalMs, async (last) => {
    if (Date.now() - measuredAt >= opts.measureEveryMs) {
      measuredAt = Date.now();
      measured = await measure().catch(() => undefined);
      const verdict = watch.observe(measured, measuredAt);
      if (verdict.stalled) throw finalError(ErrorTypes.Stalled, stallMessage(what, stallMs, `${last}; last measure: ${verdict.lastSeen}`));
    }
    return measured;
  });
}
