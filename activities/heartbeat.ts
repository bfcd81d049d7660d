/** Heartbeat, warnings and cancellation-aware sleep that also work when an activity is called directly (tests, CLI). */
import { Context } from '@temporalio/activity';

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

/** A warning in the activity's log (with its workflow and activity ids), or on stderr outside one. */
export function warn(message: string): void {
  const ctx = currentContext();
  if (ctx) ctx.log.warn(message);
  else console.warn(message);
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
 * Poll `probe` until it returns a value (not undefined), heartbeating with the probe's latest
 * status line. Gives up after timeoutMs with the last status in the error, so a failed wait says
 * what it was waiting on.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<{ done: T } | { status: string }>,
  opts: { intervalMs: number; timeoutMs: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const r = await probe();
      if ('done' in r) return r.done;
      last = r.status;
    } catch (err) {
      last = (err as Error).message;
    }
    heartbeat(`${what}: ${last}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await pause(opts.intervalMs);
  }
}
