/**
 * Follow a workflow: query its `progress` whenever its history grows (or every 250 ms through a
 * backend that cannot wait on it) and print one line per finished step with the elapsed seconds
 * (a live spinner for running steps on a TTY, plain lines otherwise).
 */
import ora, { type Ora } from 'ora';
import { isLeaseStep, waitingLine, type LeaseView } from '../common/lease';
import { PROGRESS_QUERY, type Progress, type StepState } from '../common/progress';
import type { FollowedRun } from './temporal/gateway';

const POLL_MS = 250;
/** With a history to wait on, a query at least this often still while it shows something that moves (the lease holder's line, a spinner's times). */
const IDLE_POLL_MS = 1000;
/**
 * Otherwise the history's growth alone wakes the follower (every step's start and end is an
 * event); this is only a safety net. Each query is a workflow task on the worker and work for
 * the server, on the same cores as the operation it follows.
 */
const QUIET_POLL_MS = 10_000;
/** An uncontended lease is granted in well under this: only a real wait is announced. */
const LEASE_QUIET_MS = 500;

interface Seen {
  state: StepState;
  since: number;
}

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Steps a follower already showed (or that ended before it attached): not printed again. */
export type ShownSteps = ReadonlySet<string>;

export const formatSeconds = fmt;

/** Who holds the cluster's lease, for the line that names the operation a step waits for. */
export type LeaseReader = (cluster: string) => Promise<LeaseView | null>;

export async function watchWorkflow<T>(handle: FollowedRun, readLease: LeaseReader, out: NodeJS.WriteStream = process.stdout, shown: ShownSteps = new Set()): Promise<T> {
  const r = await watchWorkflowUntil<T>(handle, readLease, undefined, out, shown);
  if (!r.ended) throw new Error('unreachable: no step to stop at');
  return r.value;
}

/**
 * The same, but it stops following once the step named `stopAt` runs (a workflow that then waits
 * for the operator, e.g. a blue/green upgrade for `upgrade finish`), or the workflow ends.
 */
export async function watchWorkflowUntil<T>(
  handle: FollowedRun, readLease: LeaseReader, stopAt: string | undefined, out: NodeJS.WriteStream = process.stdout, shown: ShownSteps = new Set(),
): Promise<{ ended: true; value: T } | { ended: false; followedMs: number }> {
  const tty = Boolean(out.isTTY) && !process.env.CI;
  const seen = new Map<string, Seen>([...shown].map((name) => [name, { state: 'done', since: Date.now() }]));
  let spinner: Ora | undefined;
  const t0 = Date.now();
  let lastPoll = t0;
  let announcedHolder: string | undefined;
  let waitingForLease = false;

  const print = (line: string): void => {
    if (spinner) spinner.clear();
    out.write(`${line}\n`);
    if (spinner) spinner.render();
  };

  const poll = async (): Promise<void> => {
    let p: Progress;
    try {
      p = await handle.query<Progress>(PROGRESS_QUERY);
    } catch {
      return; // not started yet, or closed: the result tells the rest
    }
    const now = Date.now();
    const running: string[] = [];
    waitingForLease = p.steps.some((s) => s.state === 'running' && isLeaseStep(s.name));
    for (const s of p.steps) {
      const prev = seen.get(s.name);
      if (!prev || prev.state !== s.state) {
        // A step that went pending → done between two polls started after the previous poll.
        const since = prev?.state === 'running' ? prev.since : s.state === 'running' ? now : lastPoll;
        if (s.state === 'done') print(`✓ ${s.name} (${fmt(now - since)})`);
        else if (s.state === 'failed') print(`✗ ${s.name} (${fmt(now - since)}): ${s.detail ?? 'failed'}`);
        else if (s.state === 'skipped' && prev?.state !== 'skipped') print(`- ${s.name} (skipped)`);
        seen.set(s.name, { state: s.state, since: s.state === 'running' ? since : now });
      }
      if (s.state === 'running') running.push(`${s.name} ${fmt(now - (seen.get(s.name)?.since ?? now))}`);
      if (s.state === 'running' && isLeaseStep(s.name) && now - (seen.get(s.name)?.since ?? now) >= LEASE_QUIET_MS) {
        // `waiting for <operation> (<workflow id>) on <cluster>`, again whenever another operation takes its turn.
        const lease = await readLease(p.cluster).catch(() => null);
        const holder = lease?.operation;
        if (holder && holder.workflowId !== handle.workflowId && holder.workflowId !== announcedHolder) {
          print(waitingLine(holder, p.cluster));
          announcedHolder = holder.workflowId;
        }
      }
    }
    lastPoll = now;
    if (stopAt !== undefined && p.steps.some((s) => s.name === stopAt && s.state === 'running')) reached = true;
    if (tty) {
      if (!spinner) spinner = ora({ stream: out }).start();
      spinner.text = running.join(' | ') || 'working';
    }
  };

  let reached = false;
  const result = handle.result() as Promise<T>;
  let settled = false;
  result.then(() => (settled = true), () => (settled = true));
  try {
    while (!settled && !reached) {
      await poll();
      if (reached) break;
      let timer: NodeJS.Timeout | undefined;
      const idleMs = !handle.nextChange ? POLL_MS : tty || waitingForLease ? IDLE_POLL_MS : QUIET_POLL_MS;
      const pause = new Promise((r) => (timer = setTimeout(r, idleMs)));
      await Promise.race([pause, ...(handle.nextChange ? [handle.nextChange()] : []), result.catch(() => undefined)]);
      clearTimeout(timer);
    }
    if (!reached) await poll();
  } finally {
    spinner?.stop();
  }
  if (reached && !settled) return { ended: false, followedMs: Date.now() - t0 };
  const value = await result;
  out.write(`done in ${fmt(Date.now() - t0)}\n`);
  return { ended: true, value };
}
