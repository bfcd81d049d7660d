/**
 * Fake DCS-config activities (set-profile, set-sync) on top of the shared fakes: an in-memory DCS
 * config that PATCH merges into, recorded in the same call list. No I/O.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DcsConfig, SyncMode } from '../../common/spec';
import type { DcsPatch } from '../../activities/dcs-config';
import type { FakeOptions } from './fake-activities';
import { runWithFakes, type ExtraActivity, type FakeRun } from './run-with-fakes';

export interface FakeConfigOptions extends FakeOptions {
  /** The DCS config before the workflow (default: the default profile, sync off). */
  dcs?: DcsConfig;
  /** Config activity → error type to throw (non-retryable). */
  failConfigOn?: Partial<Record<'patchDcsConfig' | 'waitForDcsConfigApplied' | 'waitForSyncApplied', string>>;
  /** Members that are stopped (for waitForDcsConfigApplied's notRunning). */
  stopped?: string[];
}

export interface FakeConfigRun extends FakeRun {
  /** The fake DCS config after the run. */
  dcs: DcsConfig;
}

export const defaultDcs: DcsConfig = {
  ttl: 30, loop_wait: 10, retry_timeout: 10, maximum_lag_on_failover: 1048576, synchronous_mode: false, synchronous_mode_strict: false,
};

export async function runConfigWorkflow(env: TestWorkflowEnvironment, workflow: 'setProfile' | 'setSync', arg: unknown, o: FakeConfigOptions = {}): Promise<FakeConfigRun> {
  let dcs: DcsConfig = { ...(o.dcs ?? defaultDcs) };
  const members = ['pg-0', 'pg-1', 'pg-2'];
  const stopped = o.stopped ?? [];
  const extra: Record<string, ExtraActivity> = {
    readClusterConfig: async () => ({ config: dcs, member: 'pg-0' }),
    patchDcsConfig: async (i: { patch: DcsPatch; leader: string | null }) => {
      const before = dcs;
      dcs = { ...dcs, ...i.patch } as DcsConfig;
      return { member: i.leader ?? 'pg-0', before, after: dcs };
    },
    waitForDcsConfigApplied: async () => ({ applied: members.filter((m) => !stopped.includes(m)), notRunning: stopped }),
    waitForSyncApplied: async (i: { mode: SyncMode }) => ({ mode: i.mode, leader: 'pg-0', syncStandby: i.mode === 'off' ? null : 'pg-1' }),
  };
  const run = await runWithFakes(env, workflow, arg, o, { extra, failExtraOn: o.failConfigOn });
  return { ...run, dcs };
}
