/**
 * Rolling restart (`cluster restart NAME [--member M]`): input, result and the decisions about it
 * as pure functions of what Patroni shows. Shared by the CLI (refuse early), the RestartCluster
 * workflow (the authority) and the restart activity (ask Patroni, or only wait).
 */
import { namesProblem } from './input-checks';
import type { ProfileName, SyncMode } from './spec';

export interface RestartClusterInput {
  cluster: string;
  /** Restart only this member; a leader with someone able to take over is switched away from first. */
  member?: string;
  /** Restart only the members Patroni flags pending_restart (after a parameter change); off by default. */
  onlyPending?: boolean;
}

/** How a member came to run a new postmaster. */
export type RestartedHow =
  | 'restarted'
  /** A retried step found the start time already moved: an earlier attempt's restart. */
  | 'already restarted'
  /** The old leader: Patroni stops and starts PostgreSQL to demote it, which is its restart. */
  | 'restarted by its demote'
  /** The leader, in place: no replica could take over. */
  | 'restarted in place'
  /** The leader, in place before the replicas: a decrease they cannot run below their primary waited for it (workflows/leader-first.ts). */
  | 'restarted in place first';

export interface RestartedMember {
  member: string;
  how: RestartedHow;
  /** Patroni's postmaster_start_time before the run restarted it, and after. */
  startedBefore: string;
  startedAfter: string;
}

export interface RestartClusterResult {
  cluster: string;
  /** In the order they were restarted. */
  restarted: RestartedMember[];
  /** Members Patroni flagged pending_restart when the run began. */
  pendingBefore: string[];
  /** Members still flagged at the end (left out by --member, or flagged again meanwhile). */
  pendingAfter: string[];
  /** Members left alone because nothing was pending on them (onlyPending). */
  notPending: string[];
  switchover?: { from: string; to: string };
  /** The leader at the end. */
  leader: string;
  /** What writes went through, in one line: none, one switchover, or the leader's restart in place. */
  writeDowntime: string;
  /**
   * Decreases waiting for the leader's restart that replicas cannot run below their primary's
   * value (common/set-parameters.ts PRIMARY_BOUNDS_REPLICAS): the whole-cluster restart restarted
   * the leader in place first for them; with `member` they stay pending (see leaderFirstNote).
   */
  leaderFirst?: string[];
  /** The poolers' pools after the restart (workflows/pooler-sizes.ts); absent where the run did not size them. */
  pooler?: string;
}

/** One member as the restart sees it. */
export interface RestartMemberView {
  name: string;
  /** leader, replica, sync_standby, ... or unknown (not registered in Patroni). */
  role: string;
  /** Patroni tag nofailover: never promoted. */
  readOnly: boolean;
  /** Its container runs and Patroni reports PostgreSQL running with a start time. */
  running: boolean;
  /** Patroni's state (running, starting, stopped, ...). */
  state: string;
  /** Patroni's pending_restart: a parameter changed that takes effect only at a restart. */
  pendingRestart: boolean;
  /** Patroni's postmaster_start_time; null while PostgreSQL does not run. */
  startedAt: string | null;
}

export interface RestartSnapshot {
  cluster: string;
  leader: string | null;
  members: RestartMemberView[];
  /** HAProxy's stats port on this machine; null without HAProxy. */
  statsPort: number | null;
  profile: ProfileName;
  syncMode: SyncMode;
  /** Some member runs on an added host (each front door behind its own worker). */
  acrossHosts: boolean;
}

export interface RestartPlan {
  kind: 'plan';
  /** Replicas to restart one at a time, in member order. */
  replicas: string[];
  /** The leader's turn: after a switchover, or in place when no replica can take over; null: it stays as it is. */
  leader: { name: string; how: 'switchover' | 'in-place' } | null;
  notPending: string[];
}

export type RestartDecision = RestartPlan | { kind: 'refuse'; reason: string };

/** Why this input is no restart request, or undefined (the workflow checks it before any activity). */
export function restartInputProblem(i: RestartClusterInput): string | undefined {
  if (typeof i !== 'object' || i === null) return 'the input must be an object {cluster, member?, onlyPending?}';
  const names = namesProblem({ clusters: [i.cluster], members: i.member === undefined ? [] : [i.member] });
  if (names) return names;
  if (i.onlyPending !== undefined && typeof i.onlyPending !== 'boolean') return `onlyPending must be true or false, got ${JSON.stringify(i.onlyPending)}`;
  return undefined;
}

/** Which members to restart (or, for `operation` rebuild, re-create: the same order) and how, or why not. */
export function planRestart(s: RestartSnapshot, i: Pick<RestartClusterInput, 'member' | 'onlyPending'> & { operation?: 'restart' | 'rebuild' }): RestartDecision {
  const refuse = (reason: string): RestartDecision => ({ kind: 'refuse', reason });
  const op = i.operation ?? 'restart';
  const names = s.members.map((m) => m.name);
  if (i.member !== undefined && !names.includes(i.member)) return refuse(`no member ${i.member} in ${s.cluster} (members: ${names.join(', ') || 'none'})`);
  if (s.acrossHosts) return refuse(`cluster ${op} of a cluster across hosts is not built yet (${s.cluster} has members on added hosts)`);
  if (!s.leader) return refuse(`${s.cluster} has no leader; a rolling ${op} needs one (Patroni fails over by itself)`);
  const chosen = i.member === undefined ? s.members : s.members.filter((m) => m.name === i.member);
  const targets = i.onlyPending ? chosen.filter((m) => m.pendingRestart) : chosen;
  const leader = s.members.find((m) => m.name === s.leader);
  // Patroni restarts only a PostgreSQL it runs; the leader must run to take the switchover or the restart.
  const down = [...(leader ? [leader] : []), ...targets].find((m) => !m.running);
  if (down) {
    const others = i.member !== undefined ? '' : op === 'restart' ? '; start it first, or restart the others one at a time with --member' : '; start it first';
    return refuse(`${down.name} is not running (Patroni state: ${down.state})${others}`);
  }
  const leaderTarget = targets.some((m) => m.name === s.leader);
  const canTakeOver = s.members.some((m) => m.name !== s.leader && !m.readOnly);
  return {
    kind: 'plan',
    replicas: targets.filter((m) => m.name !== s.leader).map((m) => m.name),
    leader: leaderTarget ? { name: s.leader, how: canTakeOver ? 'switchover' : 'in-place' } : null,
    notPending: chosen.filter((m) => !targets.includes(m)).map((m) => m.name),
  };
}

/** What the restart step does, given what Patroni reports now and the start time recorded before. */
export type RestartStepDecision =
  /** A new postmaster runs: the restart happened (this attempt's, an earlier one's, or a demote). */
  | { kind: 'done'; startedAt: string }
  /** PostgreSQL is stopping or starting (an earlier attempt's restart under way): wait, never ask again. */
  | { kind: 'wait' }
  /** The recorded postmaster still runs: ask Patroni to restart it. */
  | { kind: 'ask' };

export function restartStepDecision(now: { state: string; startedAt: string | null }, startedBefore: string): RestartStepDecision {
  if (now.state !== 'running' || now.startedAt === null) return { kind: 'wait' };
  // A postmaster's start time changes only when a new one starts.
  return now.startedAt === startedBefore ? { kind: 'ask' } : { kind: 'done', startedAt: now.startedAt };
}

/** The result's one line about writes (`done`: what happened to the members, restarted or re-created). */
export function writeDowntimeLine(leader: RestartPlan['leader'], switchover: { from: string; to: string } | undefined, onlyMember: boolean, done: 'restarted' | 're-created' = 'restarted'): string {
  if (!leader) return `none: the leader was not ${done}`;
  if (switchover) return `one switchover (${switchover.from} → ${switchover.to})`;
  const why = onlyMember ? 'it is the only member' : 'no replica can take over';
  return `${leader.name} ${done} in place (${why}): writes failed while ${done === 'restarted' ? 'its PostgreSQL restarted' : 'it was re-created'}`;
}

/**
 * With --member, what becomes of the decreases waiting for the leader's restart: none of them
 * applies, on a replica (it runs its primary's value) nor on the leader (the switchover's
 * candidate keeps its higher value, and the old leader then follows it).
 */
export function leaderFirstNote(cluster: string, member: string, names: string[]): string {
  return `${member} does not take the lower ${names.join(', ')} from this restart: replicas cannot run less than their primary, so it applies only once the leader restarts with it first, which \`dbaas cluster restart ${cluster}\` (without --member) does`;
}
