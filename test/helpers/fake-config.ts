/**
 * Fake DCS-config activities (set-profile, set-sync) on top of the shared fakes: an in-memory DCS
 * config that PATCH merges into, recorded in the same call list. No I/O.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { DcsConfig, SyncMode } from '../../common/spec';
import type { Progress } from '../../common/progress';
import type { DcsPatch } from '../../activities/dcs-config';
import { fakeActivities, type Fake, type FakeOptions } from './fake-activities';
import { createTestWorker } from './temporal';

export interface FakeConfigOptions extends FakeOptions {
  /** The DCS config before the workflow (default: the default profile, sync off). */
  dcs?: DcsConfig;
  /** Config activity → error type to throw (non-retryable). */
  failConfigOn?: Partial<Record<'patchDcsConfig' | 'waitForDcsConfigApplied' | 'waitForSyncApplied', string>>;
  /** Members that are stopped (for waitForDcsConfigApplied's notRunning). */
  stopped?: string[];
}

export interface FakeConfigRun {
  f: Fake;
  /** The fake DCS config after the run. */
  dcs: DcsConfig;
  result: unknown;
  error: unknown;
  progress: Progress;
}

export const defaultDcs: DcsConfig = {
  ttl: 30, loop_wait: 10, retry_timeout: 10, maximum_lag_on_failover: 1048576, synchronous_mode: false, synchronous_mode_strict: false,
};

let n = 0;

export async function runConfigWorkflow(env: TestWorkflowEnvironment, workflow: 'setProfile' | 'setSync', arg: unknown, o: FakeConfigOptions = {}): Promise<FakeConfigRun> {
  const f = fakeActivities(o);
  let dcs: DcsConfig = { ...(o.dcs ?? defaultDcs) };
  const members = ['pg-0', 'pg-1', 'pg-2'];
  const stopped = o.stopped ?? [];
  const impl: Record<string, (arg: never) => Promise<unknown>> = {
    readClusterConfig: async () => ({ config: dcs, member: 'pg-0' }),
    patchDcsConfig: async (i: { patch: DcsPatch; leader: string | null }) => {
      const before = dcs;
      dcs = { ...dcs, ...i.patch } as DcsConfig;
      return { member: i.leader ?? 'pg-0', before, after: dcs };
    },
    waitForDcsConfigApplied: async () => ({ applied: members.filter((m) => !stopped.includes(m)), notRunning: stopped }),
    waitForSyncApplied: async (i: { mode: SyncMode }) => ({ mode: i.mode, leader: 'pg-0', syncStandby: i.mode === 'off' ? null : 'pg-1' }),
  };
  const activities: Record<string, unknown> = { ...(f.activities as unknown as Record<string, unknown>) };
  for (const [name, fn] of Object.entries(impl)) {
    activities[name] = async (a: never) => {
      f.calls.push({ name, arg: a });
      const failType = o.failConfigOn?.[name as keyof NonNullable<FakeConfigOptions['failConfigOn']>];
      if (failType) throw ApplicationFailure.create({ type: failType, message: `${name} failed (injected)`, nonRetryable: true });
      return fn(a);
    };
  }
  const taskQueue = `fake-config-${process.pid}-${++n}`;
  const worker = await createTestWorker(env, taskQueue, activities);
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(workflow, { taskQueue, workflowId: `${workflow}-${taskQueue}`, args: [arg] });
    let error: unknown;
    let result: unknown;
    try {
      result = await handle.result();
    } catch (err) {
      error = err;
    }
    return { f, dcs, result, error, progress: await handle.query<Progress>('progress') };
  });
}
