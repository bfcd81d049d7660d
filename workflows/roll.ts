/**
 * The roll shared by the rolling restart (workflows/restartCluster.ts) and the rebuild
 * (workflows/rebuildCluster.ts): replicas one at a time, each out of HAProxy while it is acted on
 * and back once it streams and HAProxy ro has it UP; then a switchover to a member already done
 * (the Switchover workflow as a child, granted the lease under this run's), then the old leader.
 * Where no replica can take over (one member, or only read-only ones) the leader is acted on in
 * place. What is done to each member (a PostgreSQL restart, a new container) is the caller's.
 */
import { ApplicationFailure, CancellationScope, executeChild, workflowInfo } from '@temporalio/workflow';
import type { RestartPlan, RestartSnapshot } from '../common/cluster-restart';
import { chooseCandidate } from '../common/switchover';
import { cleanup, quick, waits } from './activity-options';
import { memberChildOptions } from './children';
import type { Steps } from './steps';
import { switchover } from './switchover';

/** Established ro sessions get this long to end before the member is cut off. */
const DRAIN_TIMEOUT_MS = 10_000;
/**
 * Caught up: Patroni's /cluster lag compares positions each member writes to the DCS once per HA
 * loop, so under writes it seldom shows 0; its own bar for a failover candidate is 1 MiB.
 */
const CAUGHT_UP_BYTES = 1024 * 1024;
/** The Switchover activities' failure type: a switchover that cannot happen now (the CLI exits 1: the replicas were done). */
const SWITCHOVER_FAILED = 'SwitchoverFailed';

const PICK_STEP = 'pick the new leader and take it out of HAProxy ro';
const RO_BACK_STEP = 'put the new leader back in HAProxy ro (down while it leads)';

const memberSteps = (m: string) => ({
  drain: `take ${m} out of HAProxy`,
  streaming: `wait for ${m} streaming`,
  serve: `put ${m} back in service in HAProxy`,
});

/** What the roll does to each member, and what it says it did. */
export interface MemberAction<R extends { how: string }> {
  /** What the roll is, in its messages: restart, rebuild. */
  operation: string;
  /** The step that acts on a member. */
  stepOf(m: string): string;
  /** Act on the member once (a retried attempt finds it done); it is out of HAProxy meanwhile. */
  act(m: string): Promise<R>;
  /** The leader, in place where no replica can take over: its step (`why`: the reason), and what it does. */
  inPlaceStepOf(leader: string, why: string): string;
  actInPlace(leader: string): Promise<R>;
  /**
   * After the switchover: the step that checks whether the old leader's demote already did it
   * (Patroni restarts PostgreSQL to demote), and its result if so. Absent: the old leader's turn
   * always comes.
   */
  demoted?: { stepOf(leader: string): string; check(leader: string): Promise<R | undefined> };
}

export interface RollOutcome<R> {
  /** In the order they were done. */
  done: R[];
  switchover?: { from: string; to: string };
}

export class ClusterRoll<R extends { how: string }> {
  private readonly leader: string;
  private readonly members: string[];

  constructor(
    private readonly cluster: string, private readonly snap: RestartSnapshot, private readonly plan: RestartPlan,
    private readonly steps: Steps, private readonly action: MemberAction<R>,
  ) {
    this.leader = snap.leader as string;
    this.members = snap.members.map((m) => m.name);
  }

  private get switchStep(): string {
    return `switch over from ${this.leader} (child workflow)`;
  }

  private get syncStep(): string {
    return `wait for a synchronous standby${this.snap.syncMode === 'strict' ? ' (strict: commits wait while none exists)' : ''}`;
  }

  private get inPlaceStep(): string {
    return this.action.inPlaceStepOf(this.leader, this.snap.members.length === 1 ? 'the only member' : 'no replica can take over');
  }

  private stepsOf(m: string): string[] {
    const s = memberSteps(m);
    return this.snap.statsPort === null ? [this.action.stepOf(m), s.streaming] : [s.drain, this.action.stepOf(m), s.streaming, s.serve];
  }

  /** The roll's steps in order, for the plan the progress query shows. */
  plannedSteps(): string[] {
    const { snap, plan, leader } = this;
    if (plan.leader?.how === 'switchover') {
      return [
        ...plan.replicas.flatMap((m) => this.stepsOf(m)),
        ...(snap.syncMode !== 'off' ? [this.syncStep] : []), PICK_STEP, this.switchStep, ...(snap.statsPort !== null ? [RO_BACK_STEP] : []),
        ...(this.action.demoted ? [this.action.demoted.stepOf(leader)] : []), ...this.stepsOf(leader),
      ];
    }
    return [...plan.replicas.flatMap((m) => this.stepsOf(m)), ...(plan.leader?.how === 'in-place' ? [this.inPlaceStep, 'wait for a leader'] : [])];
  }

  async run(): Promise<RollOutcome<R>> {
    const { cluster, snap, plan, steps, leader, action } = this;
    const done: R[] = [];
    for (const m of plan.replicas) done.push(await this.member(m));
    if (plan.leader?.how === 'switchover') {
      // Replicas just done lose the synchronous role until Patroni's next loop names one again, and
      // the switchover accepts only the synchronous standby as candidate.
      if (snap.syncMode !== 'off') await steps.run(this.syncStep, () => waits.waitForSyncApplied({ cluster, mode: snap.syncMode }));
      const moved = await this.switchAway();
      const demoted = action.demoted ? await steps.run(action.demoted.stepOf(leader), () => action.demoted!.check(leader)) : undefined;
      done.push(await this.member(leader, demoted));
      return { done, switchover: moved };
    }
    if (plan.leader?.how === 'in-place') {
      const r = await steps.run(this.inPlaceStep, () => action.actInPlace(leader));
      await steps.run('wait for a leader', () => waits.waitForLeader({ cluster, members: this.members }));
      done.push(r);
    }
    return { done };
  }

  /**
   * The switchover child, with the member it promotes held out of HAProxy ro around it (it leaves
   * ro when it leads, and HAProxy would cut its ro sessions then). The candidate is picked here by
   * the switchover's own rules, then named to the child, which checks it again.
   */
  private async switchAway(): Promise<{ from: string; to: string }> {
    const { cluster, leader, steps } = this;
    const statsPort = this.snap.statsPort;
    const candidate = await steps.run(PICK_STEP, async () => {
      const d = chooseCandidate(await quick.switchoverSnapshot(cluster));
      if (d.kind === 'refuse') throw ApplicationFailure.nonRetryable(`no switchover away from ${leader}: ${d.reason}`, SWITCHOVER_FAILED);
      const from = d.kind === 'switch' ? d.from : d.leader;
      if (d.kind !== 'switch' || from !== leader) {
        throw ApplicationFailure.nonRetryable(`the leader of ${cluster} moved during the ${this.action.operation} (${leader} → ${from}); run it again`, SWITCHOVER_FAILED);
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
      const r = await steps.run(this.switchStep, () =>
        executeChild(switchover, { ...memberChildOptions(cluster), workflowId: `${workflowInfo().workflowId}:switchover`, args: [{ cluster, to: candidate }] }));
      return { from: r.from, to: r.leader };
    } finally {
      if (statsPort !== null) {
        await CancellationScope.nonCancellable(() => steps.run(RO_BACK_STEP, () => cleanup.restoreReadOnlyServer({ cluster, member: candidate })));
      }
    }
  }

  /** One member's turn: out of HAProxy, acted on once, streaming, back in service. `already`: done by the demote (no drain, no action). */
  private async member(m: string, already?: R): Promise<R> {
    const { cluster, steps } = this;
    const statsPort = this.snap.statsPort;
    const s = memberSteps(m);
    let drained = false;
    try {
      if (already) {
        for (const name of [s.drain, this.action.stepOf(m)]) steps.skip(name, `not needed: ${already.how}`);
      } else if (statsPort !== null) {
        // Counted before the step: a drain that fails half-way (DRAIN set, the wait failed) is undone too.
        drained = true;
        await steps.run(s.drain, () => waits.drainHaproxyServer({ cluster, member: m, statsPort, timeoutMs: DRAIN_TIMEOUT_MS }));
      }
      const r = already ?? await steps.run(this.action.stepOf(m), () => this.action.act(m));
      await steps.run(s.streaming, () => waits.waitForReplicaStreaming({ cluster, member: m, members: this.members, maxLagBytes: CAUGHT_UP_BYTES }));
      if (statsPort !== null) {
        await steps.run(s.serve, () => waits.putHaproxyMemberInService({ cluster, member: m, profile: this.snap.profile, statsPort }));
      }
      return r;
    } catch (err) {
      // Never left drained: its health checks decide again.
      if (drained) await CancellationScope.nonCancellable(() => cleanup.undrainHaproxyServer({ cluster, member: m }));
      throw err;
    }
  }
}
