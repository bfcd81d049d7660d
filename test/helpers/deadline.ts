/** Bounded waits for tests: a stuck process or promise fails the test with a reason instead of hanging the run. */
import type { ChildProcess } from 'node:child_process';

/** `p`, or a rejection naming `what` (a function: evaluated when the time is up) after `ms`. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const say = (): string => (typeof what === 'string' ? what : what());
    timer = setTimeout(() => reject(new Error(`still waiting after ${(ms / 1000).toFixed(0)} s: ${say()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the child has exited (at once if it already has); rejects after `ms`. */
export function waitForExit(child: ChildProcess, ms: number, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return withDeadline(new Promise<void>((r) => child.once('exit', () => r())), ms, what);
}

/** Polls `probe` every `pollMs` until it gives a value; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, pollMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
