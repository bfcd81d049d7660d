/**
 * RestartCluster (`cluster restart NAME [--member M]`): a new postmaster on every member (or one),
 * through Patroni's POST /restart, with reads going on and writes down no longer than one
 * switchover: replicas one at a time (each out of HAProxy while it restarts, back once it streams
 * and HAProxy ro has it UP), then a switchover to a restarted replica (the Switchover workflow as
 * a child, granted the lease under this run's), then the old leader, whose demote usually was its
 * restart already. Where no replica can take over (one member, or only read-only ones) the leader
 * restarts in place and the result says writes failed meanwhile.
 *
 * Each member restarts once, also when a worker dies mid-step: the first step records every
 * member's postmaster start time, and a restart step asks Patroni only while that postmaster
 * still runs (common/cluster-restart.ts restartStepDecision).
 */
import { ApplicationFailure, CancellationScope, executeChild, workflowInfo } from '@temporalio/workflow';
import {
  planRestart, restartInputProblem, writeDowntimeLine,
  type RestartClusterInput, type RestartClusterResult, type RestartedHow, type RestartedMember, type RestartSnapshot,
} from '../common/cluster-restart';
import { leaseStep } from '../common/lease';
import { chooseCandidate } from '../common/switchover';
import { cleanup, quick, waits } from './activity-options';
import { memberChildOptions } from './children';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { Steps } from './steps';
import { switchover } from './switchover';

export type { RestartClusterInput, RestartClusterResult } from '../common/cluster-restart';

/** Established ro sessions get this long to end before the restart cuts them. */
const DRAIN_TIMEOUT_MS = 10_000;
/** Patroni's own bound on a PostgreSQL start (primary_start_timeout) is 300 s. */
const RESTART_TIMEOUT_MS = 300_000;
/**
 * Caught up: Patroni's /cluster lag compares positions each member writes to the DCS once per HA
 * loop, so under writes it seldom shows 0; its own bar for a failover candidate is 1 MiB.
 */
const CAUGHT_UP_BYTES = 1024 * 1024;
/** The Switchover activities' failure type: a switchover that cannot happen now (the CLI exits 1: the replicas did restart). */
const SWITCHOVER_FAILED = 'SwitchoverFailed';

const CHECK_STEP = "check the cluster and record each member's postmaster start time";
const PICK_STEP = 'pick the new leader and take it out of HAProxy ro';
const RO_BACK_STEP = 'put the new leader back in HAProxy ro (down while it leads)';
const FINAL_STEP = 'check which members still wait for a restart';

const memberSteps = (m: string) => ({
  drain: `take ${m} out of HAProxy`,
  restart: `restart ${m} (Patroni POST /restart)`,
  streaming: `wait for ${m} streaming`,
  serve: `put ${m} back in service in HAProxy`,
});

export async function restartCluster(input: RestartClusterInput): Promise<RestartClusterResult> {
  const problem = restartInputProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
  const { cluster } = input;
  const steps = new Steps('restart-cluster', cluster, [leaseStep(cluster), CHECK_STEP]);
  return withClusterLease(steps, cluster, () => restartUnderLease(input, steps));
}

async function restartUnderLease(input: RestartClusterInput, steps: Steps): Promise<RestartClusterResult> {
  const { cluster } = input;
  const { snap, plan } = await steps.run(CHECK_STEP, async () => {
    const s = await quick.restartSnapshot(cluster);
    const d = planRestart(s, input);
    if (d.kind === 'refuse') refuse(d.reason);
    return { snap: s, plan: d };
  });
  const leader = snap.leader as string;
  const roll = new Roll(cluster, snap, steps);
  const switchStep = `switch over from ${leader} (child workflow)`;
  const demoteStep = `check whether ${leader}'s demote restarted it`;
  const why = snap.members.length === 1 ? 'the only member' : 'no replica can take over';
  const inPlaceStep = `restart ${leader} in place (${why}: writes fail while it restarts)`;
  const syncStep = `wait for a synchronous standby${snap.syncMode === 'strict' ? ' (strict: commits wait while none exists)' : ''}`;
  steps.plan([
    ...plan.replicas.flatMap((m) => roll.stepsOf(m)),
    ...(plan.leader?.how === 'switchover'
      ? [...(snap.syncMode !== 'off' ? [syncStep] : []), PICK_STEP, switchStep, ...(snap.statsPort !== null ? [RO_BACK_STEP] : []), demoteStep, ...roll.stepsOf(leader)]
      : plan.leader?.how === 'in-place' ? [inPlaceStep, 'wait for a leader'] : []),
    FINAL_STEP,
  ]);

  const restarted: RestartedMember[] = [];
  for (const m of plan.replicas) restarted.push(await roll.member(m));
  let moved: { from: string; to: string } | undefined;
  if (plan.leader?.how === 'switchover') {
    // Restarted replicas lose the synchronous role until Patroni's next loop names one again, and
    // the switchover accepts only the synchronous standby as candidate.
    if (snap.syncMode !== 'off') await steps.run(syncStep, () => waits.waitForSyncApplied({ cluster, mode: snap.syncMode }));
    moved = await switchAway(cluster, leader, snap.statsPort, steps, switchStep);
    const now = await steps.run(demoteStep, () => quick.postmasterStartTime({ cluster, member: leader }));
    // Patroni demotes by stopping PostgreSQL and starting it as a replica: a new postmaster already.
    const demoted = now.startedAt !== null && now.startedAt !== roll.startedBefore(leader);
    restarted.push(await roll.member(leader, demoted ? { how: 'restarted by its demote', startedAt: now.startedAt as string } : undefined));
  } else if (plan.leader?.how === 'in-place') {
    const r = await steps.run(inPlaceStep, () =>
      waits.restartMember({ cluster, member: leader, startedBefore: roll.startedBefore(leader), timeoutMs: RESTART_TIMEOUT_MS }));
    await steps.run('wait for a leader', () => waits.waitForLeader({ cluster, members: snap.members.map((m) => m.name) }));
    restarted.push({ member: leader, how: 'restarted in place', startedBefore: roll.startedBefore(leader), startedAfter: r.startedAt });
  }
  const after = await steps.run(FINAL_STEP, () => quick.restartSnapshot(cluster));
  return {
    cluster,
    restarted,
    pendingBefore: pendingOf(snap),
    pendingAfter: pendingOf(after),
    notPending: plan.notPending,
    ...(moved ? { switchover: moved } : {}),
    leader: after.leader ?? moved?.to ?? leader,
    writeDowntime: writeDowntimeLine(plan.leader, moved, snap.members.length === 1),
  };
}

const pendingOf = (s: RestartSnapshot): string[] => s.members.filter((m) => m.pendingRestart).map((m) => m.name);

/**
 * The switchover child, with the member it promotes held out of HAProxy ro around it (it leaves ro
 * when it leads, and HAProxy would cut its ro sessions then). The candidate is picked here by the
 * switchover's own rules, then named to the child, which checks it again.
 */
async function switchAway(cluster: string, leader: string, statsPort: number | null, steps: Steps, switchStep: string): Promise<{ from: string; to: string }> {
  const candidate = await steps.run(PICK_STEP, async () => {
    const d = chooseCandidate(await quick.switchoverSnapshot(cluster));
    if (d.kind === 'refuse') throw ApplicationFailure.nonRetryable(`no switchover away from ${leader}: ${d.reason}`, SWITCHOVER_FAILED);
    const from = d.kind === 'switch' ? d.from : d.leader;
    if (d.kind !== 'switch' || from !== leader) {
      throw ApplicationFailure.nonRetryable(`the leader of ${cluster} moved during the restart (${leader} → ${from}); run it again`, SWITCHOVER_FAILED);
    }
    if (statsPort !== null) {
      try {
        await waits.drainReadOnlyServer({ cluster, member: d.candidate, statsPort, timeoutMs: DRAIN_TIMEOUT_MS });
      } catch (err) {
        // The drain sets DRAIN first and then waits: a failed one must not leave it so (HAProxy keeps it across reloads).
        await CancellationScope.nonCancellable(() => cleanup.restoreReadOnlyServer({ cluster, member: d.candidate }));
        throw err;
      }
    }
    return d.candidate;
  });
  try {
    const r = await steps.run(switchStep, () =>
      executeChild(switchover, { ...memberChildOptions(cluster), workflowId: `${workflowInfo().workflowId}:switchover`, args: [{ cluster, to: candidate }] }));
    return { from: r.from, to: r.leader };
  } finally {
    if (statsPort !== null) {
      await CancellationScope.nonCancellable(() => steps.run(RO_BACK_STEP, () => cleanup.restoreReadOnlyServer({ cluster, member: candidate })));
    }
  }
}

/** One member's turn: out of HAProxy, restarted once, streaming, back in service. */
class Roll {
  private readonly before: Map<string, string | null>;
  private readonly members: string[];

  constructor(private readonly cluster: string, private readonly snap: RestartSnapshot, private readonly steps: Steps) {
    this.before = new Map(snap.members.map((m) => [m.name, m.startedAt]));
    this.members = snap.members.map((m) => m.name);
  }

  stepsOf(m: string): string[] {
    const s = memberSteps(m);
    return this.snap.statsPort === null ? [s.restart, s.streaming] : [s.drain, s.restart, s.streaming, s.serve];
  }

  /** Recorded by the first step; planRestart refused any member to restart that did not run. */
  startedBefore(m: string): string {
    return this.before.get(m) as string;
  }

  /** `already`: a new postmaster runs (the demote's): no drain, no request. */
  async member(m: string, already?: { how: RestartedHow; startedAt: string }): Promise<RestartedMember> {
    const { cluster, steps } = this;
    const statsPort = this.snap.statsPort;
    const s = memberSteps(m);
    const startedBefore = this.startedBefore(m);
    let drained = false;
    try {
      if (already) {
        for (const name of [s.drain, s.restart]) steps.skip(name, `not needed: ${already.how}`);
      } else if (statsPort !== null) {
        // Counted before the step: a drain that fails half-way (DRAIN set, the wait failed) is undone too.
        drained = true;
        await steps.run(s.drain, () => waits.drainHaproxyServer({ cluster, member: m, statsPort, timeoutMs: DRAIN_TIMEOUT_MS }));
      }
      const r = already ?? await steps.run(s.restart, async () => {
        const x = await waits.restartMember({ cluster, member: m, startedBefore, timeoutMs: RESTART_TIMEOUT_MS });
        return { how: (x.outcome === 'restarted' ? 'restarted' : 'already restarted') as RestartedHow, startedAt: x.startedAt };
      });
      await steps.run(s.streaming, () => waits.waitForReplicaStreaming({ cluster, member: m, members: this.members, maxLagBytes: CAUGHT_UP_BYTES }));
      if (statsPort !== null) {
        await steps.run(s.serve, () => waits.putHaproxyMemberInService({ cluster, member: m, profile: this.snap.profile, statsPort }));
      }
      return { member: m, how: r.how, startedBefore, startedAfter: r.startedAt };
    } catch (err) {
      // Never left drained: its health checks decide again.
      if (drained) await CancellationScope.nonCancellable(() => cleanup.undrainHaproxyServer({ cluster, member: m }));
      throw err;
    }
  }
}
