/** Run one workflow on its own task queue with fake activities and collect result, error and calls. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
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

export async function runWithFakes(env: TestWorkflowEnvironment, workflow: string, arg: unknown, fake: FakeOptions = {}): Promise<FakeRun> {
  const taskQueue = `fake-${process.pid}-${++n}`;
  const f = fakeActivities(fake);
  const worker = await createTestWorker(env, taskQueue, f.activities);
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(workflow, { taskQueue, workflowId: `${workflow}-${taskQueue}`, args: [arg] });
    let error: unknown;
    let result: unknown;
    try {
      result = await handle.result();
    } catch (err) {
      error = err;
    }
    return { f, result, error, progress: await handle.query<Progress>('progress') };
  });
}

/** The innermost failure (the activity's or workflow's own ApplicationFailure). */
export function rootCause(err: unknown): { type?: string; message: string } {
  let e = err as { cause?: unknown; type?: string; message: string };
  while (e.cause) e = e.cause as typeof e;
  return e;
}
