/** Fake switchover activities (on top of the shared fakes) and a runner for the Switchover workflow. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../activities';
import type { Progress } from '../../common/progress';
import type { SwitchoverInput, SwitchoverMemberView, SwitchoverSnapshot, SwitchoverStatus } from '../../common/switchover';
import { runWithFakes, type ExtraActivity } from './run-with-fakes';

export const replica = (name: string, extra: Partial<SwitchoverMemberView> = {}): SwitchoverMemberView => ({
  name, role: 'replica', state: 'running', containerRunning: true, readOnly: false, streaming: true, lag: 0, ...extra,
});

/** pg-0 leads on timeline 3; pg-1 and pg-2 stream with no lag. */
export function healthySnapshot(members: SwitchoverMemberView[] = [replica('pg-1'), replica('pg-2')]): SwitchoverSnapshot {
  return {
    cluster: 'orders',
    leader: 'pg-0',
    timeline: 3,
    members: [{ ...replica('pg-0'), role: 'leader', streaming: false, lag: undefined }, ...members],
    syncMode: false,
    paused: false,
    maxLagBytes: 1024 * 1024,
    pending: null,
    statsPort: 25434,
    loopWaitSec: 10,
    etcdMembers: ['etcd-0'],
  };
}
export { replica as replicaView };

export interface SwitchoverFakeOptions {
  snapshot?: SwitchoverSnapshot;
  /** Activity name → error type thrown (non-retryable). */
  failOn?: Partial<Record<keyof Activities, string>>;
  /** How long the fake wait for the new leader takes. */
  leadDelayMs?: number;
}

export interface SwitchoverRun {
  calls: { name: string; arg: unknown }[];
  names(): string[];
  arg<T>(name: string): T;
  result: unknown;
  error: unknown;
  progress: Progress;
}

/** The Switchover workflow's own activities, faked (also for workflows that run it as a child). */
export function switchoverFakes(o: SwitchoverFakeOptions = {}): Record<string, ExtraActivity> {
  const snapshot = o.snapshot ?? healthySnapshot();
  return {
    switchoverSnapshot: async () => snapshot,
    requestSwitchover: async (a: { at?: string }) => ({ outcome: a.at ? 'scheduled' : 'issued', detail: 'fake' }),
    waitForSwitchedLeader: async (a: { to?: string }) => {
      await new Promise((r) => setTimeout(r, o.leadDelayMs ?? 0));
      return { leader: a.to ?? 'pg-2', timeline: 4, steeredHaproxy: true };
    },
    undrainRwServer: async () => undefined,
  };
}

/** How long a test waits for the workflow to reach the phase it cancels in. */
const PHASE_TIMEOUT_MS = 30_000;

export async function runSwitchover(
  env: TestWorkflowEnvironment, input: SwitchoverInput, o: SwitchoverFakeOptions = {}, opts: { cancelInPhase?: SwitchoverStatus['phase'] } = {},
): Promise<SwitchoverRun> {
  const extra = switchoverFakes(o);
  const cancelInPhase = opts.cancelInPhase;
  const run = await runWithFakes(env, 'switchover', input, { failOn: o.failOn }, {
    extra,
    failExtraOn: o.failOn,
    whileRunning: cancelInPhase === undefined ? undefined : async (handle) => {
      // Fakes answer at once: a phase not reached within this is a workflow that never gets there.
      const deadline = Date.now() + PHASE_TIMEOUT_MS;
      for (;;) {
        const s = await handle.query<SwitchoverStatus>('switchoverStatus').catch(() => undefined);
        if (s?.phase === cancelInPhase) break;
        if (Date.now() > deadline) {
          await handle.terminate('the test gave up waiting for a phase').catch(() => undefined);
          throw new Error(`the switchover never reached phase ${cancelInPhase} (last: ${s?.phase ?? 'no answer'})`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await handle.cancel();
    },
  });
  const calls = run.f.calls;
  return {
    calls,
    names: () => calls.map((c) => c.name),
    arg: <T>(name: string) => calls.find((c) => c.name === name)?.arg as T,
    result: run.result,
    error: run.error,
    progress: run.progress,
  };
}
