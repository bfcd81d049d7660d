/**
 * A decrease of a parameter that replicas run at least at their primary's value (max_connections,
 * max_worker_processes…: common/set-parameters.ts PRIMARY_BOUNDS_REPLICAS) takes effect only once
 * the leader runs with it. A roll restarts the replicas first, and Patroni starts each with the
 * primary's higher value again (pending_restart), the switchover's candidate too, and the old
 * leader after it: nobody gets the new value. So the leader's PostgreSQL restarts in place first
 * (writes fail while it restarts, a few seconds); it writes the new values to the WAL as it starts,
 * and each replica's pg_control takes them on replay, so the roll after it starts the replicas
 * with the new value. Used by `cluster config set --restart rolling`, by a resize, and by
 * `cluster restart` and `cluster rebuild` when such a decrease waits for the leader's restart (set
 * without a restart).
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { RestartSnapshot } from '../common/cluster-restart';
import { PRIMARY_BOUNDS_REPLICAS, leaderFirstChanges } from '../common/set-parameters';
import { quick, waits } from './activity-options';
import type { Steps } from './steps';

/** Patroni's own bound on a PostgreSQL start (primary_start_timeout). */
const RESTART_TIMEOUT_MS = 300_000;
/** Patroni's bar for a caught-up replica (as the roll's). */
const CAUGHT_UP_BYTES = 1024 * 1024;

/**
 * Whether this run restarts the leader first for these decreases (none: no). A run that went past
 * this point on older code, without the restart, replays without it.
 */
export const leaderGoesFirst = (names: string[]): boolean => names.length > 0 && patched('leader-first');

/**
 * The decreases set without a restart that wait for the leader's: values of those parameters the
 * DCS holds below what the leader runs (leaderFirstChanges, as `cluster config set` finds them).
 * Asked only where Patroni flags the leader pending_restart and `asks()` (the caller's reasons,
 * then its patched id: a run that went past this point on older code replays without the
 * question). A leader that moved since the snapshot gives none: the roll's own checks refuse it.
 * Used by `cluster restart` and `cluster rebuild`.
 */
export async function decreasesWaitingForLeader(s: RestartSnapshot, asks: () => boolean): Promise<string[]> {
  const leader = s.members.find((m) => m.name === s.leader);
  if (!leader?.pendingRestart || !asks()) return [];
  const r = await quick.readParameterSettings({ cluster: s.cluster, names: PRIMARY_BOUNDS_REPLICAS });
  return r.leader === leader.name ? leaderFirstChanges(r.previous, r.settings) : [];
}

export const leaderFirstSteps = (leader: string, names: string[]): { restart: string; stream: string } => ({
  restart: `restart ${leader} in place first: replicas cannot run less ${names.join(', ')} than their primary (writes fail while it restarts)`,
  stream: `wait for the replicas to stream from ${leader} again`,
});

/** Restart the leader in place and wait until the replicas stream from it; returns the line about writes. */
export async function restartLeaderFirst(steps: Steps, cluster: string, leader: string, replicas: string[], names: string[]): Promise<string> {
  const restart = async () => {
    const now = await quick.postmasterStartTime({ cluster, member: leader });
    if (now.startedAt === null) throw ApplicationFailure.nonRetryable(`${leader}'s PostgreSQL does not run (Patroni state: ${now.state}); run the change again once it does`, 'MemberRefused');
    return waits.restartMember({ cluster, member: leader, startedBefore: now.startedAt, timeoutMs: RESTART_TIMEOUT_MS });
  };
  return (await restartLeaderFirstWith(steps, cluster, leader, replicas, names, restart)).line;
}

/** The same, with the caller's restart of the leader (the rolling restart's, from the start time it recorded); also returns what it returned. */
export async function restartLeaderFirstWith<R>(
  steps: Steps, cluster: string, leader: string, replicas: string[], names: string[], restart: () => Promise<R>,
): Promise<{ line: string; restarted: R }> {
  const s = leaderFirstSteps(leader, names);
  const restarted = await steps.run(s.restart, restart);
  const members = [leader, ...replicas];
  await steps.run(s.stream, () => Promise.all(replicas.map((m) => waits.waitForReplicaStreaming({ cluster, member: m, members, maxLagBytes: CAUGHT_UP_BYTES }))));
  return { line: `${leader} restarted in place first (replicas cannot run less ${names.join(', ')} than their primary): writes failed while it restarted`, restarted };
}
