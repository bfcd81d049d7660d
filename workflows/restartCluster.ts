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
 *
 * A decrease of max_connections (or another value replicas cannot run below their primary's) set
 * without a restart never applies replicas first: the whole-cluster restart then restarts the
 * leader in place first (workflows/leader-first.ts) and the replicas after it, with no switchover;
 * with --member the result says the member does not take it. A whole-cluster restart ends by
 * sizing the poolers' pools for the max_connections the leader now runs (workflows/pooler-sizes.ts).
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import {
  planRestart, restartInputProblem, writeDowntimeLine,
  type RestartClusterInput, type RestartClusterResult, type RestartedHow, type RestartedMember, type RestartPlan, type RestartSnapshot,
} from '../common/cluster-restart';
import { leaseStep } from '../common/lease';
import { quick, waits } from './activity-options';
import { decreasesWaitingForLeader, leaderFirstSteps, restartLeaderFirstWith } from './leader-first';
import { withClusterLease } from './lease';
import { POOLER_STEP, poolersFollow, resizePoolers } from './pooler-sizes';
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
  const { snap, plan, lowered } = await steps.run(CHECK_STEP, async () => {
    const s = await quick.restartSnapshot(cluster);
    const d = planRestart(s, input);
    if (d.kind === 'refuse') refuse(d.reason);
    return { snap: s, plan: d, lowered: await loweredForLeader(input, s, d) };
  });
  const leader = snap.leader as string;
  const replicas = snap.members.filter((m) => m.name !== leader && m.running).map((m) => m.name);
  const first = input.member === undefined && lowered.length > 0 ? leaderFirstSteps(leader, lowered) : undefined;
  const action = restartAction(cluster, snap);
  // Restarted first, the leader has had its restart: the roll leaves it alone, and no switchover is needed.
  const roll = new ClusterRoll(cluster, snap, first ? { ...plan, leader: null } : plan, steps, action);
  const follow = !input.onlyPending && poolersFollow();
  steps.plan([...(first ? [first.restart, first.stream] : []), ...roll.plannedSteps(), FINAL_STEP, ...(follow ? [POOLER_STEP] : [])]);
  const firstRun = first
    ? await restartLeaderFirstWith(steps, cluster, leader, replicas, lowered, async () => ({ ...(await action.actInPlace(leader)), how: 'restarted in place first' as const }))
    : undefined;
  const { done, switchover: moved } = await roll.run();
  const restarted = [...(firstRun ? [firstRun.restarted] : []), ...done];
  const after = await steps.run(FINAL_STEP, () => quick.restartSnapshot(cluster));
  // A restart may apply a pending max_connections (a whole-cluster one asks; onlyPending: its parent does).
  const pooler = follow ? await resizePoolers(steps, cluster) : undefined;
  return {
    cluster,
    restarted,
    pendingBefore: pendingOf(snap),
    pendingAfter: pendingOf(after),
    notPending: plan.notPending,
    ...(moved ? { switchover: moved } : {}),
    leader: after.leader ?? moved?.to ?? leader,
    writeDowntime: firstRun ? firstRun.line : writeDowntimeLine(plan.leader, moved, snap.members.length === 1),
    ...(lowered.length > 0 ? { leaderFirst: lowered } : {}),
    ...(pooler ? { pooler } : {}),
  };
}

/**
 * The decreases waiting for the leader's restart (workflows/leader-first.ts), asked where it
 * matters: the whole cluster restarts its leader (it goes first then), or one member restarts (the
 * result says it does not take them). Alone, the leader restarts in place anyway, as primary: with them.
 */
function loweredForLeader(input: RestartClusterInput, s: RestartSnapshot, plan: RestartPlan): Promise<string[]> {
  const replicas = s.members.filter((m) => m.name !== s.leader && m.running);
  const matters = input.member !== undefined || (plan.leader !== null && replicas.length > 0);
  return decreasesWaitingForLeader(s, () => matters && patched('restart-leader-first'));
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
