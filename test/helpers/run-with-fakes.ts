/** Run one workflow on its own task queue with fake activities and collect result, error and calls. */
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { hostTaskQueue } from '../../common/task-queues';
import type { Progress } from '../../common/progress';
import { fakeActivities, type Fake, type FakeOptions } from './fake-activities';
import { createTestWorker } from './temporal';

let n = 0;

export interface FakeRun {
  f: Fake;
  result: unknown;
  error: unknown;
  progress: Progress;
}

/** A fake for an activity the shared fakes lack (or one that replaces a shared fake). */
export type ExtraActivity = (arg: never) => Promise<unknown>;

export interface RunOptions {
  /** Activities merged over the shared fakes; their calls are recorded in `f.calls` like the others. */
  extra?: Record<string, ExtraActivity>;
  /** Extra activity name → error type it throws (non-retryable), before its fake runs. */
  failExtraOn?: Partial<Record<string, string>>;
  /** Runs once the workflow has started, before its result is awaited (e.g. to cancel it). */
  whileRunning?(handle: WorkflowHandle): Promise<void>;
  /** false: a worker without the keep-alive heartbeats (to show what they prevent). */
  keepAlive?: boolean;
  /** Added hosts whose task queues get a worker too, with the same fakes (steps run onHost). */
  hosts?: string[];
}

export async function runWithFakes(
  env: TestWorkflowEnvironment, workflow: string, arg: unknown, fake: FakeOptions = {}, opts: RunOptions = {},
): Promise<FakeRun> {
  const taskQueue = `fake-${process.pid}-${++n}`;
  const f = fakeActivities(fake);
  const activities: Record<string, unknown> = { ...(f.activities as unknown as Record<string, unknown>) };
  for (const [name, fn] of Object.entries(opts.extra ?? {})) {
    activities[name] = async (a: never) => {
      f.calls.push({ name, arg: a });
      const failType = opts.failExtraOn?.[name];
      if (failType) throw ApplicationFailure.create({ type: failType, message: `${name} failed (injected)`, nonRetryable: true });
      return fn(a);
    };
  }
  const worker = await createTestWorker(env, taskQueue, activities, { keepAlive: opts.keepAlive });
  const hostWorkers = await Promise.all((opts.hosts ?? []).map((h) => createTestWorker(env, hostTaskQueue(taskQueue, h), activities, { keepAlive: opts.keepAlive })));
  const withHosts = <T>(ws: Worker[], body: () => Promise<T>): Promise<T> => (ws.length === 0 ? body() : ws[0].runUntil(() => withHosts(ws.slice(1), body)));
  return worker.runUntil(() => withHosts(hostWorkers, async () => {
    const handle = await env.client.workflow.start(workflow, { taskQueue, workflowId: `${workflow}-${taskQueue}`, args: [arg] });
    await opts.whileRunning?.(handle);
    let error: unknown;
    let result: unknown;
    try {
      result = await handle.result();
    } catch (err) {
      error = err;
    }
    return { f, result, error, progress: await handle.query<Progress>('progress') };
  }));
}

/** The innermost failure (the activity's or workflow's own ApplicationFailure). */
export function rootCause(err: unknown): { type?: string; message: string } {
  let e = err as { cause?: unknown; type?: string; message: string };
  while (e.cause) e = e.cause as typeof e;
  return e;
}
