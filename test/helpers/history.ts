/** Workflow histories for tests: searchable text, and which activity ran how many attempts. */
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  const decoded: string[] = [];
  const json = JSON.stringify(history, (_k, v: unknown) => {
    if (v instanceof Uint8Array) {
      const s = Buffer.from(v).toString('utf8');
      decoded.push(s);
      return s;
    }
    if (typeof v === 'bigint') return String(v);
    return v;
  });
  return `${json}\n${decoded.join('\n')}`;
}

/** Which activity (by type, and optionally by a piece of its JSON input) a crash test aims at. */
export interface ActivityTarget {
  type: string;
  /** A substring of the activity's input as JSON, e.g. `"member":"pg-3"`, when several of one type run. */
  inputIncludes?: string;
}

export function describeTarget(t: ActivityTarget): string {
  return t.inputIncludes ? `${t.type} (${t.inputIncludes})` : t.type;
}

/** The JSON text of a scheduled activity's input payloads. */
function inputText(e: HistoryEvent): string {
  const payloads = e.activityTaskScheduledEventAttributes?.input?.payloads ?? [];
  return payloads.map((p) => (p.data ? Buffer.from(p.data).toString('utf8') : '')).join('\n');
}

function matches(e: HistoryEvent, t: ActivityTarget): boolean {
  const a = e.activityTaskScheduledEventAttributes;
  return a?.activityType?.name === t.type && (t.inputIncludes === undefined || inputText(e).includes(t.inputIncludes));
}

/**
 * The attempt each matching activity ended on. Temporal schedules a retried activity once and
 * writes one ActivityTaskStarted (with its `attempt`) when it closes, so the attempt is read from
 * the started event, which names its ActivityTaskScheduled event by `scheduledEventId`.
 */
export function finalAttempts(events: HistoryEvent[], t: ActivityTarget): number[] {
  const scheduled = new Set(events.filter((e) => matches(e, t)).map((e) => String(e.eventId)));
  return events
    .filter((e) => e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1);
}

/** The highest attempt the targeted activity reached in the workflow's history (throws if it never ran). */
export async function highestAttempt(handle: WorkflowHandle, t: ActivityTarget): Promise<number> {
  const attempts = finalAttempts((await handle.fetchHistory()).events ?? [], t);
  if (attempts.length === 0) throw new Error(`${describeTarget(t)} never started in ${handle.workflowId}`);
  return Math.max(...attempts);
}

/** Every activity type whose final attempt was ≥ 2 (for the test's log). */
export async function retriedActivities(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const typeOf = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?']));
  return events
    .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
    .map((e) => `${typeOf.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId))} (attempt ${e.activityTaskStartedEventAttributes?.attempt})`);
}

/**
 * Waits until a worker has picked up the targeted activity (pending, state STARTED), so a kill
 * that follows lands inside it. A step shown "running" by the progress query may still be only
 * scheduled, and a kill then is no crash of that step at all.
 */
export async function waitForActivityStarted(handle: WorkflowHandle, t: ActivityTarget, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = (await handle.describe().catch(() => undefined))?.raw.pendingActivities ?? [];
    const started = pending.filter((p) => p.activityType?.name === t.type && p.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    if (started.length > 0) {
      if (t.inputIncludes === undefined) return;
      // Pending activities carry no input: find the matching ones by their scheduled events.
      const events = (await handle.fetchHistory()).events ?? [];
      const ids = new Set(events.filter((e) => matches(e, t)).map((e) => e.activityTaskScheduledEventAttributes?.activityId));
      if (started.some((p) => ids.has(p.activityId))) return;
    }
    if (Date.now() > deadline) throw new Error(`${describeTarget(t)} was never seen running in ${handle.workflowId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How many of the targeted activity's runs completed successfully so far. */
export function completedCount(events: HistoryEvent[], t: ActivityTarget): number {
  const scheduled = new Set(events.filter((e) => matches(e, t)).map((e) => String(e.eventId)));
  return events.filter((e) => e.activityTaskCompletedEventAttributes && scheduled.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId))).length;
}

/**
 * Waits until the targeted activity has completed `count` times. For a step too short to catch
 * while it runs: a kill right after it lands in whatever the workflow does next.
 */
export async function waitForActivityCompleted(handle: WorkflowHandle, t: ActivityTarget, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // The workflow may not have started yet: no history is none completed.
  const events = async () => (await handle.fetchHistory().catch(() => undefined))?.events ?? [];
  while (completedCount(await events(), t) < count) {
    if (Date.now() > deadline) throw new Error(`${describeTarget(t)} did not complete ${count} time(s) in ${handle.workflowId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
