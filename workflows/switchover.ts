/**
 * Switchover: hand the leader role to a healthy replica on purpose. Checks the candidate, asks
 * Patroni once (now, or at a scheduled time), waits until the new leader holds HAProxy's rw
 * port and the old leader streams from it as a replica.
 */
import { CancellationScope, defineQuery, isCancellation, setHandler, sleep } from '@temporalio/workflow';
import {
  chooseCandidate, type SwitchoverInput, type SwitchoverResult, type SwitchoverSnapshot, type SwitchoverStatus,
} from '../common/switchover';
import { cleanup, quick, waits } from './activity-options';
import { refuse } from './refusals';
import { Steps } from './steps';

export type { SwitchoverInput, SwitchoverResult, SwitchoverStatus } from '../common/switchover';

export const switchoverStatusQuery = defineQuery<SwitchoverStatus>('switchoverStatus');

/** Demote + promote take seconds; this bounds a wait that Patroni never completes. */
const NEW_LEADER_TIMEOUT_MS = 180_000;

export async function switchover(input: SwitchoverInput): Promise<SwitchoverResult> {
  const { cluster } = input;
  const steps = new Steps('switchover', cluster, ['check the candidate']);
  const status: SwitchoverStatus = { cluster, phase: 'checking', to: input.to, at: input.at };
  setHandler(switchoverStatusQuery, () => ({ ...status }));

  // The workflow is the authority: the CLI's own check may be minutes old, or skipped.
  const { snap, from, candidate } = await steps.run('check the candidate', async () => {
    const s: SwitchoverSnapshot = await quick.switchoverSnapshot(cluster);
    const d = chooseCandidate(s, input.to);
    if (d.kind === 'refuse') refuse(d.reason);
    if (d.kind === 'already') return { snap: s, from: d.leader, candidate: undefined };
    // A scheduled switchover without --to leaves the choice to Patroni at that time (the
    // healthiest member then); the check above only proved there is one now.
    return { snap: s, from: d.from, candidate: input.at && !input.to ? undefined : d.candidate };
  });
  const timelineBefore = snap.timeline ?? 0;
  if (snap.leader === input.to) {
    status.phase = 'done';
    return { cluster, changed: false, from, leader: from, timelineBefore, timelineAfter: timelineBefore, steeredHaproxy: false };
  }
  status.from = from;
  status.to = candidate;
  const target = candidate ?? 'the healthiest member';
  const newLeader = candidate ?? 'the new leader';
  const issueStep = input.at ? `schedule the switchover ${from} → ${target} at ${input.at}` : `ask Patroni to switch over ${from} → ${target}`;
  const timerStep = `wait until ${input.at}`;
  const leadStep = `wait for ${newLeader} to lead and hold the rw port`;
  const streamStep = `wait for ${from} to stream as a replica`;
  steps.plan([issueStep, ...(input.at ? [timerStep] : []), leadStep, streamStep]);
  const common = { cluster, from, etcdMembers: snap.etcdMembers };

  /** A step that failed for good must not leave the old leader drained in HAProxy rw. */
  const undrainOnFailure = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const statsPort = snap.statsPort;
      if (statsPort !== null && !isCancellation(err)) {
        await CancellationScope.nonCancellable(() => cleanup.undrainRwServer({ cluster, member: from, statsPort }));
      }
      throw err;
    }
  };

  // Once asked, Patroni goes ahead whatever happens to this workflow: the request and the waits
  // that follow are not cancellable (only the timer of a scheduled switchover is).
  const issued = await CancellationScope.nonCancellable(() =>
    steps.run(issueStep, () =>
      undrainOnFailure(() => waits.requestSwitchover({ ...common, to: candidate, at: input.at, timelineBefore, statsPort: snap.statsPort })),
    ),
  );

  const finish = async (): Promise<SwitchoverResult> => {
    status.phase = 'switching';
    const led = await steps.run(leadStep, () =>
      undrainOnFailure(() => waits.waitForSwitchedLeader({ ...common, to: candidate, statsPort: snap.statsPort, timeoutMs: NEW_LEADER_TIMEOUT_MS })),
    );
    status.to = led.leader;
    const members = snap.members.map((m) => m.name);
    await steps.run(streamStep, () => waits.waitForReplicaStreaming({ cluster, member: from, members, maxLagBytes: snap.maxLagBytes }));
    status.phase = 'done';
    return {
      cluster, changed: true, from, leader: led.leader, timelineBefore, timelineAfter: led.timeline, scheduledAt: input.at, steeredHaproxy: led.steeredHaproxy,
    };
  };

  if (input.at && issued.outcome !== 'already-switched') {
    status.phase = 'scheduled';
    try {
      // A durable timer: the workflow holds no worker while it waits (hours are fine).
      await steps.run(timerStep, () => sleep(Math.max(0, Date.parse(input.at as string) - Date.now())));
    } catch (err) {
      if (!isCancellation(err)) throw err;
      // `dbaas switchover cancel`: take it off Patroni's schedule, unless it is already running.
      const c = await CancellationScope.nonCancellable(() =>
        steps.run('cancel the scheduled switchover', () =>
          cleanup.cancelScheduledSwitchover({ ...common, at: input.at as string, timelineBefore, loopWaitSec: snap.loopWaitSec }),
        ),
      );
      if (c.cancelled) {
        status.phase = 'cancelled';
        steps.skipPending();
        throw err;
      }
      // Too late: Patroni is switching over already; see it through.
    }
  }
  return CancellationScope.nonCancellable(finish);
}
