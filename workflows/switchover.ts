/**
 * Switchover: hand the leader role to a healthy replica on purpose, holding the cluster's lease.
 * Checks the candidate, asks Patroni once, waits until the new leader holds HAProxy's rw port and
 * the old leader streams from it as a replica. A scheduled one (`--at`) is checked when asked,
 * waits on a durable timer, then takes the lease and checks again: it runs when it fires, never
 * beside another operation (Patroni's own scheduler would not wait for one).
 */
import { CancellationScope, defineQuery, isCancellation, setHandler, sleep } from '@temporalio/workflow';
import {
  chooseCandidate, scheduledWaitStep, type SwitchoverInput, type SwitchoverResult, type SwitchoverSnapshot, type SwitchoverStatus,
} from '../common/switchover';
import { leaseStep } from '../common/lease';
import { cleanup, quick, waits } from './activity-options';
import { checkNames } from './input-checks';
import { acquireLease } from './lease';
import { refuse } from './refusals';
import { Steps } from './steps';

export type { SwitchoverInput, SwitchoverResult, SwitchoverStatus } from '../common/switchover';

export const switchoverStatusQuery = defineQuery<SwitchoverStatus>('switchoverStatus');

/** Demote + promote take seconds; this bounds a wait that Patroni never completes. */
const NEW_LEADER_TIMEOUT_MS = 180_000;

export async function switchover(input: SwitchoverInput): Promise<SwitchoverResult> {
  const { cluster } = input;
  checkNames({ clusters: [cluster], members: input.to === undefined ? [] : [input.to] });
  const early = 'check the candidate (when asked)';
  const steps = new Steps('switchover', cluster, [...(input.at ? [early, scheduledWaitStep(input.at)] : []), leaseStep(cluster), 'check the candidate']);
  const status: SwitchoverStatus = { cluster, phase: 'checking', to: input.to, at: input.at };
  setHandler(switchoverStatusQuery, () => ({ ...status }));

  if (input.at) {
    // Refuse a request that cannot work now, rather than hours later.
    await steps.run(early, async () => {
      const d = chooseCandidate(await quick.switchoverSnapshot(cluster), input.to);
      if (d.kind === 'refuse') refuse(d.reason);
    });
    status.phase = 'scheduled';
    try {
      // A durable timer: the workflow holds no worker and no lease while it waits (hours are fine).
      await steps.run(scheduledWaitStep(input.at), () => sleep(Math.max(0, Date.parse(input.at as string) - Date.now())));
    } catch (err) {
      // `dbaas switchover cancel`: nothing was asked of Patroni yet.
      if (isCancellation(err)) {
        status.phase = 'cancelled';
        steps.skipPending();
      }
      throw err;
    }
  }
  const lease = await steps.run(leaseStep(cluster), () => acquireLease(cluster, steps.operation));
  try {
    return await switchNow(input, steps, status);
  } finally {
    await lease.release();
  }
}

async function switchNow(input: SwitchoverInput, steps: Steps, status: SwitchoverStatus): Promise<SwitchoverResult> {
  const { cluster } = input;
  // The workflow is the authority, holding the lease: the CLI's own check may be minutes old, or skipped.
  const { snap, from, candidate } = await steps.run('check the candidate', async () => {
    const s: SwitchoverSnapshot = await quick.switchoverSnapshot(cluster);
    const d = chooseCandidate(s, input.to);
    if (d.kind === 'refuse') refuse(d.reason);
    if (d.kind === 'already') return { snap: s, from: d.leader, candidate: undefined };
    return { snap: s, from: d.from, candidate: d.candidate };
  });
  const timelineBefore = snap.timeline ?? 0;
  if (snap.leader === input.to) {
    status.phase = 'done';
    return { cluster, changed: false, from, leader: from, timelineBefore, timelineAfter: timelineBefore, steeredHaproxy: false };
  }
  status.from = from;
  status.to = candidate;
  const issueStep = `ask Patroni to switch over ${from} → ${candidate}`;
  const leadStep = `wait for ${candidate} to lead and hold the rw port`;
  const streamStep = `wait for ${from} to stream as a replica`;
  steps.plan([issueStep, leadStep, streamStep]);
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
  // that follow are not cancellable.
  return CancellationScope.nonCancellable(async () => {
    status.phase = 'switching';
    await steps.run(issueStep, () =>
      undrainOnFailure(() => waits.requestSwitchover({ ...common, to: candidate, timelineBefore, statsPort: snap.statsPort })),
    );
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
  });
}
