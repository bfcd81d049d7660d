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
 * still runs (common/cluster-restart.ts restartStepDecision). The roll itself is workflows/roll.ts,
 * shared with the rebuild.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import {
  planRestart, restartInputProblem, writeDowntimeLine,
  type RestartClusterInput, type RestartClusterResult, type RestartedHow, type RestartedMember, type RestartSnapshot,
} from '../common/cluster-restart';
import { leaseStep } from '../common/lease';
import { quick, waits } from './activity-options';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { ClusterRoll, type MemberAction } from './roll';
import { Steps } from './steps';

export type { RestartClusterInput, RestartClusterResult } from '../common/cluster-restart';

/** Patroni's own bound on a PostgreSQL start (primary_start_timeout) is 300 s. */
const RESTART_TIMEOUT_MS = 300_000;

const CHECK_STEP = "check the cluster and record each member's postmaster start time";
const FINAL_STEP = 'check which members still wait for a restart';

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
  const roll = new ClusterRoll(cluster, snap, plan, steps, restartAction(cluster, snap));
  steps.plan([...roll.plannedSteps(), FINAL_STEP]);
  const { done: restarted, switchover: moved } = await roll.run();
  const after = await steps.run(FINAL_STEP, () => quick.restartSnapshot(cluster));
  return {
    cluster,
    restarted,
    pendingBefore: pendingOf(snap),
    pendingAfter: pendingOf(after),
    notPending: plan.notPending,
    ...(moved ? { switchover: moved } : {}),
    leader: after.leader ?? moved?.to ?? (snap.leader as string),
    writeDowntime: writeDowntimeLine(plan.leader, moved, snap.members.length === 1),
  };
}

const pendingOf = (s: RestartSnapshot): string[] => s.members.filter((m) => m.pendingRestart).map((m) => m.name);

/**
 * A new postmaster through Patroni's POST /restart, asked only while the one recorded by the first
 * step runs (planRestart refused any member to restart that did not run).
 */
function restartAction(cluster: string, snap: RestartSnapshot): MemberAction<RestartedMember> {
  const before = new Map(snap.members.map((m) => [m.name, m.startedAt as string]));
  const startedBefore = (m: string): string => before.get(m) as string;
  const restart = async (m: string, inPlace: boolean): Promise<RestartedMember> => {
    const x = await waits.restartMember({ cluster, member: m, startedBefore: startedBefore(m), timeoutMs: RESTART_TIMEOUT_MS });
    const how: RestartedHow = inPlace ? 'restarted in place' : x.outcome === 'restarted' ? 'restarted' : 'already restarted';
    return { member: m, how, startedBefore: startedBefore(m), startedAfter: x.startedAt };
  };
  return {
    operation: 'restart',
    stepOf: (m) => `restart ${m} (Patroni POST /restart)`,
    act: (m) => restart(m, false),
    inPlaceStepOf: (leader, why) => `restart ${leader} in place (${why}: writes fail while it restarts)`,
    actInPlace: (leader) => restart(leader, true),
    demoted: {
      stepOf: (leader) => `check whether ${leader}'s demote restarted it`,
      // Patroni demotes by stopping PostgreSQL and starting it as a replica: a new postmaster already.
      check: async (leader) => {
        const now = await quick.postmasterStartTime({ cluster, member: leader });
        const demoted = now.startedAt !== null && now.startedAt !== startedBefore(leader);
        return demoted ? { member: leader, how: 'restarted by its demote', startedBefore: startedBefore(leader), startedAfter: now.startedAt as string } : undefined;
      },
    },
  };
}
