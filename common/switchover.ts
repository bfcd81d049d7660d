/**
 * Planned switchover: inputs, results and the decisions about it (which member takes over,
 * whether a request was already issued), as pure functions of what Patroni and the DCS show.
 * Shared by the CLI (refuse early), the workflow (the authority) and the activities.
 */
import { haWorkflowIds } from './workflow-ids';
import { parseInstant } from './timestamps';

export interface SwitchoverInput {
  cluster: string;
  /** The member to promote; without it the healthiest candidate is picked. */
  to?: string;
  /** ISO 8601 instant (UTC, as normalized by parseSwitchoverTime): the workflow waits until then, then switches over. */
  at?: string;
}

export interface SwitchoverResult {
  cluster: string;
  /** False when the requested member already was the leader (nothing was done). */
  changed: boolean;
  from: string;
  /** The leader at the end. */
  leader: string;
  timelineBefore: number;
  timelineAfter: number;
  scheduledAt?: string;
  /** HAProxy rw was told at once (runtime API) instead of waiting for its health checks. */
  steeredHaproxy: boolean;
}

/** What the workflow is doing, for `switchover cancel` and the Web UI (no secrets). */
export type SwitchoverPhase = 'checking' | 'scheduled' | 'switching' | 'cancelled' | 'done';

export interface SwitchoverStatus {
  cluster: string;
  phase: SwitchoverPhase;
  from?: string;
  to?: string;
  at?: string;
}

/** Written to the workflow memo at start, so a second CLI call can compare requests without a worker. */
export interface SwitchoverMemo {
  to: string | null;
  at: string | null;
}

/** One member as the candidate check sees it. */
export interface SwitchoverMemberView {
  name: string;
  /** leader, replica, sync_standby, ... or unknown (not registered in Patroni). */
  role: string;
  /** Patroni state: running, starting, stopped, ... */
  state: string;
  containerRunning: boolean;
  /** Patroni tag nofailover. */
  readOnly: boolean;
  /** The leader's pg_stat_replication row for it says streaming. */
  streaming: boolean;
  /** Bytes behind the leader; undefined when Patroni does not know. */
  lag?: number;
}

/** A pending request in Patroni's /failover key. */
export interface FailoverKey {
  leader?: string;
  candidate?: string;
  scheduledAt?: string;
}

export interface SwitchoverSnapshot {
  cluster: string;
  leader: string | null;
  /** The leader's timeline (advances with every promotion). */
  timeline: number | null;
  members: SwitchoverMemberView[];
  syncMode: boolean;
  paused: boolean;
  /** Largest lag a candidate may have (Patroni's maximum_lag_on_failover). */
  maxLagBytes: number;
  pending: FailoverKey | null;
  /** HAProxy stats port, when the cluster has HAProxy steered by the switchover (not across hosts yet). */
  statsPort: number | null;
  /** Patroni loop_wait in seconds (scheduled switchovers run up to this early/late). */
  loopWaitSec: number;
  etcdMembers: string[];
}

export type CandidateDecision =
  | { kind: 'switch'; from: string; candidate: string }
  | { kind: 'already'; leader: string }
  | { kind: 'refuse'; reason: string };

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Why `m` cannot take over from the leader now, or undefined when it can. */
export function candidateProblem(s: SwitchoverSnapshot, m: SwitchoverMemberView): string | undefined {
  if (m.readOnly) return `${m.name} is read-only (nofailover): it is never promoted`;
  if (!m.containerRunning) return `${m.name} is not running (container stopped)`;
  if (m.state !== 'running') return `${m.name} is not running (Patroni state: ${m.state})`;
  if (!m.streaming) return `${m.name} is not streaming from the leader`;
  if (m.lag === undefined) return `${m.name} has an unknown lag`;
  if (m.lag > s.maxLagBytes) return `${m.name} lags ${formatBytes(m.lag)} behind the leader (more than ${formatBytes(s.maxLagBytes)}); wait for it to catch up`;
  if (s.syncMode && m.role !== 'sync_standby') {
    const sync = s.members.filter((x) => x.role === 'sync_standby').map((x) => x.name);
    return `${s.cluster} uses synchronous replication and ${m.name} is not the sync standby (${sync.join(', ') || 'none'})`;
  }
  return undefined;
}

/** Problems of the cluster as a whole that refuse any switchover. */
function clusterProblem(s: SwitchoverSnapshot): string | undefined {
  if (!s.leader) return `${s.cluster} has no leader; a switchover needs one (Patroni fails over by itself)`;
  if (s.paused) return `${s.cluster} is paused (Patroni maintenance mode); resume it first`;
  if (s.pending?.scheduledAt) {
    const to = s.pending.candidate ?? 'the healthiest member';
    // dbaas keeps its own schedule (a durable timer): this one was put into Patroni by hand.
    return `a switchover of ${s.cluster} is already scheduled in Patroni at ${s.pending.scheduledAt} (${s.pending.leader ?? '?'} → ${to}), not by dbaas; ` +
      'remove it first with Patroni\'s DELETE /switchover (patronictl flush … switchover)';
  }
  if (s.pending && (s.pending.leader || s.pending.candidate)) return `a switchover of ${s.cluster} is already under way`;
  return undefined;
}

/**
 * The member to promote: `to` when it qualifies, otherwise the healthiest candidate (least lag,
 * then the lowest member number). `to` naming the current leader is "already done".
 */
export function chooseCandidate(s: SwitchoverSnapshot, to?: string): CandidateDecision {
  if (to !== undefined) {
    const m = s.members.find((x) => x.name === to);
    if (!m) return { kind: 'refuse', reason: `no member ${to} in ${s.cluster} (members: ${s.members.map((x) => x.name).join(', ') || 'none'})` };
    if (s.leader === to) return { kind: 'already', leader: to };
    const problem = clusterProblem(s) ?? candidateProblem(s, m);
    return problem ? { kind: 'refuse', reason: problem } : { kind: 'switch', from: s.leader as string, candidate: to };
  }
  const problem = clusterProblem(s);
  if (problem) return { kind: 'refuse', reason: problem };
  const others = s.members.filter((m) => m.name !== s.leader);
  const eligible = others.filter((m) => candidateProblem(s, m) === undefined);
  if (eligible.length === 0) {
    const why = others.map((m) => candidateProblem(s, m)).join('; ');
    return { kind: 'refuse', reason: `no member of ${s.cluster} can take over from ${s.leader}: ${why || 'it has no other members'}` };
  }
  const index = (n: string): number => Number(/(\d+)$/.exec(n)?.[1] ?? Number.MAX_SAFE_INTEGER);
  const best = [...eligible].sort((a, b) => (a.lag ?? 0) - (b.lag ?? 0) || index(a.name) - index(b.name))[0];
  return { kind: 'switch', from: s.leader as string, candidate: best.name };
}

/** What the DCS shows now, for deciding whether the switchover was already requested. */
export interface DcsState {
  leader: string | null;
  /** The leader's timeline per its member key. */
  timeline: number | null;
  failover: FailoverKey | null;
}

export interface IssueRequest {
  from: string;
  to?: string;
  timelineBefore: number;
}

export type IssueDecision =
  | { kind: 'issue' }
  /** The leader moved on (or the timeline advanced): the switchover happened. */
  | { kind: 'switched'; leader: string }
  /** Our request is in the /failover key and Patroni is acting on it. */
  | { kind: 'pending' }
  /** Someone else's request is pending: refuse rather than overwrite it. */
  | { kind: 'conflict'; reason: string }
  /** No leader and no request of ours: the cluster is failing over by itself; try again. */
  | { kind: 'no-leader' };

/**
 * Whether to POST /switchover. A retried step must never issue a second switchover: the
 * recorded leader and timeline, and the pending /failover key, tell what a first attempt did.
 * Patroni keeps the /failover key until the new leader holds the leader key, so at every moment
 * either the key is there, or the leader has changed, or nothing was requested yet.
 */
export function issueDecision(d: DcsState, r: IssueRequest): IssueDecision {
  if ((d.leader && d.leader !== r.from) || (d.timeline !== null && d.timeline > r.timelineBefore)) {
    return { kind: 'switched', leader: d.leader ?? '' };
  }
  const f = d.failover;
  if (f && (f.leader || f.candidate)) {
    // dbaas never schedules in Patroni (a scheduled switchover waits on its own timer), so a
    // scheduled key is always someone else's.
    const ours = f.leader === r.from && (r.to === undefined ? !f.candidate : f.candidate === r.to) && !f.scheduledAt;
    if (ours) return { kind: 'pending' };
    const what = f.scheduledAt ? `scheduled at ${f.scheduledAt}` : 'under way';
    return { kind: 'conflict', reason: `another switchover (${f.leader ?? '?'} → ${f.candidate ?? 'any'}) is ${what}` };
  }
  if (!d.leader) return { kind: 'no-leader' };
  return { kind: 'issue' };
}

export class SwitchoverTimeError extends Error {}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** --at: ISO 8601 with a UTC offset, in the future. Returns the instant in UTC ISO form. */
export function parseSwitchoverTime(text: string, nowMs: number): string {
  if (!ISO_WITH_OFFSET.test(text)) {
    throw new SwitchoverTimeError(`--at must be an ISO 8601 time with a UTC offset, e.g. 2030-01-31T02:00:00Z or 2030-01-31T03:00+01:00, got "${text}"`);
  }
  // Field by field: Date.parse would take 2030-02-30 for 2 March.
  const parsed = parseInstant(text);
  if ('problem' in parsed) throw new SwitchoverTimeError(`--at "${text}" ${parsed.problem}`);
  const ms = parsed.ms;
  if (ms <= nowMs) throw new SwitchoverTimeError(`--at ${text} is in the past`);
  return new Date(ms).toISOString();
}

/**
 * Workflow id: one switchover per cluster and starting timeline. A repeated CLI call before the
 * switchover has happened computes the same id and follows the running workflow instead of
 * starting another; once it has happened the timeline has advanced, so asking again is a new
 * switchover (as a user expects from asking twice).
 */
export function switchoverWorkflowId(cluster: string, timeline: number): string {
  return haWorkflowIds.switchover(cluster, `tl${timeline}`);
}

const sameInstant = (a?: string, b?: string): boolean => a !== undefined && b !== undefined && Date.parse(a) === Date.parse(b);

/** Same request: same target (or both automatic) and same time (or both immediate). */
export function sameRequest(memo: SwitchoverMemo, to: string | undefined, at: string | undefined): boolean {
  const sameTime = memo.at === null ? at === undefined : sameInstant(memo.at, at);
  return (memo.to ?? undefined) === to && sameTime;
}

/** The step a scheduled switchover waits in until its time; the CLI returns once it runs. */
export const scheduledWaitStep = (at: string): string => `wait until ${at}`;
