/**
 * ClusterWatch events: what changed between two observations of a cluster (Docker's view of the
 * member containers + Patroni's /cluster). Pure code: the ClusterWatch workflow imports it, so no
 * I/O and no clock — every timestamp comes from the observation.
 */
import type { MemberRole } from '../activities/patroni-api';

/** Docker's state of a member container; 'absent' when it no longer exists. */
export type ContainerState = 'running' | 'exited' | 'restarting' | 'created' | 'paused' | 'dead' | 'removing' | 'absent';

export interface MemberObservation {
  name: string;
  container: ContainerState;
  /** Docker's State.ExitCode of the last run (meaningful while exited). */
  exitCode?: number;
  /** Docker's State.FinishedAt (ISO) of the last run; identifies one particular exit. */
  finishedAt?: string;
  /** The host it runs on (absent in snapshots from before hosts: this machine). */
  host?: string;
  /** Patroni's view; undefined when the member is not in /cluster (or no Patroni API answered). */
  patroni?: {
    role: MemberRole;
    state: string;
    timeline?: number;
    /** Bytes behind the leader; undefined for the leader or when unknown. */
    lag?: number;
  };
}

export interface ClusterSnapshot {
  /** When the activity observed it (ms since the epoch, the activity's clock). */
  at: number;
  /** Some member's Patroni REST API answered /cluster. */
  patroniAnswered: boolean;
  /** Postgres members by container, sorted by name. */
  members: MemberObservation[];
  /** Patroni's HA timing in the DCS now (seconds), if a member answered /config: it may differ from the profile the cluster was created with. */
  ha?: { ttl: number; loopWait: number };
  /** Hosts whose engines did not answer: their members are not in `members`. */
  unreachableHosts?: string[];
  /** The cluster's replace-after (seconds, from its members' spec label); absent: the default. */
  replaceAfterS?: number;
}

export type EventKind =
  | 'watch-started'
  | 'host-down'
  | 'host-up'
  | 'leader-elected'
  | 'no-leader'
  | 'failover'
  | 'switchover'
  | 'timeline-changed'
  | 'member-down'
  | 'member-up'
  | 'member-added'
  | 'member-removed'
  | 'lag-high'
  | 'lag-ok'
  | 'patroni-unreachable'
  | 'patroni-reachable'
  | 'heal-restart'
  | 'heal-reinitialize'
  | 'heal-skipped'
  | 'heal-failed'
  | 'host-replace'
  | 'host-replaced'
  | 'member-fenced'
  | 'watch-error'
  | 'watch-ended'
  | 'restore-drill'
  | 'restore-drill-failed';

export interface ClusterEvent {
  /** ISO timestamp: the observation's time, or the workflow's time for actions. */
  at: string;
  kind: EventKind;
  member?: string;
  message: string;
}

/** What the diff remembers beyond the previous snapshot (a leader can vanish for several polls). */
export interface DiffMemory {
  /** The last member seen as leader, across polls without a leader. */
  lastLeader?: string;
  /**
   * Why the last leader was seen down (container not running, or its key gone from /cluster)
   * since it last led; undefined while it serves.
   */
  lastLeaderDown?: string;
  /** The leader's last known timeline. */
  timeline?: number;
  /** A poll without a leader was reported (once per leaderless period). */
  leaderless?: boolean;
}

export interface DiffOptions {
  /** A replica lagging more than this many bytes is reported (Patroni's maximum_lag_on_failover: 1 MiB). */
  lagThresholdBytes: number;
}

export const DEFAULT_LAG_THRESHOLD_BYTES = 1024 * 1024;

export function leaderOf(s: ClusterSnapshot): MemberObservation | undefined {
  return s.members.find((m) => m.patroni?.role === 'leader' || m.patroni?.role === 'standby_leader');
}

/** A member serves: its container runs and Patroni reports its PostgreSQL running. */
export function isHealthy(m: MemberObservation | undefined): boolean {
  return m !== undefined && m.container === 'running' && m.patroni?.state === 'running';
}

/** Why a member is not healthy, in a user's words. */
export function downReason(m: MemberObservation | undefined): string {
  if (!m || m.container === 'absent') return 'container removed';
  if (m.container === 'exited') return `container exited (code ${m.exitCode ?? '?'})`;
  if (m.container !== 'running') return `container ${m.container}`;
  if (!m.patroni) return 'not in Patroni\'s /cluster';
  return `Patroni state "${m.patroni.state}"`;
}

/** The member is down for failover purposes: its container stopped or its key left /cluster. */
function isGone(m: MemberObservation | undefined): boolean {
  return m === undefined || m.container !== 'running' || m.patroni === undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The first observation of a watch: one event summing up what it found. */
export function describeStart(s: ClusterSnapshot): ClusterEvent {
  const leader = leaderOf(s);
  const members = s.members.map((m) => `${m.name} ${isHealthy(m) ? 'up' : `down (${downReason(m)})`}`).join(', ');
  const lead = leader ? `leader ${leader.name} on timeline ${leader.patroni?.timeline ?? '?'}` : 'no leader';
  return { at: iso(s.at), kind: 'watch-started', message: `watching: ${lead}; ${members || 'no members'}` };
}

/** Memory for the first snapshot of a watch. */
export function initialMemory(s: ClusterSnapshot): DiffMemory {
  const leader = leaderOf(s);
  return { lastLeader: leader?.name, timeline: leader?.patroni?.timeline, leaderless: s.patroniAnswered && !leader };
}

/**
 * The events between the previous and the current snapshot, and the memory for the next diff.
 *
 * A leader change is a `failover` when the old leader was seen down (its container not running,
 * or its member key gone from /cluster) at some poll since it last led; otherwise — the old leader
 * kept running and stepped down — it is a `switchover`. Patroni's own words differ (it calls a
 * manual `failover` to a chosen candidate a failover); this is the user's view: was it planned.
 */
export function diffSnapshots(prev: ClusterSnapshot, cur: ClusterSnapshot, memory: DiffMemory, o: DiffOptions): { events: ClusterEvent[]; memory: DiffMemory } {
  const at = iso(cur.at);
  const events: ClusterEvent[] = [];
  const next: DiffMemory = { ...memory };
  const byName = (s: ClusterSnapshot, name: string) => s.members.find((m) => m.name === name);

  if (prev.patroniAnswered && !cur.patroniAnswered) {
    events.push({ at, kind: 'patroni-unreachable', message: 'no member\'s Patroni API answers /cluster' });
  } else if (!prev.patroniAnswered && cur.patroniAnswered) {
    events.push({ at, kind: 'patroni-reachable', message: 'Patroni\'s /cluster answers again' });
  }

  // Hosts: a host that stops answering takes its members out of the listing; they are down, not removed.
  const downNow = new Set(cur.unreachableHosts ?? []);
  const downBefore = new Set(prev.unreachableHosts ?? []);
  const onHost = (s: ClusterSnapshot, h: string): string => s.members.filter((m) => m.host === h).map((m) => m.name).join(', ') || 'none of its members';
  for (const h of downNow) {
    if (!downBefore.has(h)) events.push({ at, kind: 'host-down', message: `host ${h} does not answer (members there: ${onHost(prev, h)})` });
  }
  for (const h of downBefore) {
    if (!downNow.has(h)) events.push({ at, kind: 'host-up', message: `host ${h} answers again (members there: ${onHost(cur, h)})` });
  }

  // Members: added, removed, down, up. Without any Patroni answer only container changes count
  // (every member would otherwise look "down" for want of an answer).
  for (const m of cur.members) {
    const before = byName(prev, m.name);
    if (!before && m.host !== undefined && downBefore.has(m.host)) {
      events.push({ at, kind: 'member-up', member: m.name, message: `${m.name} back with host ${m.host} (${isHealthy(m) ? m.patroni?.role ?? 'running' : downReason(m)})` });
      continue;
    }
    if (!before) {
      events.push({ at, kind: 'member-added', member: m.name, message: `${m.name} appeared (${isHealthy(m) ? 'up' : downReason(m)})` });
      continue;
    }
    const patroniKnown = cur.patroniAnswered && prev.patroniAnswered;
    const wasUp = patroniKnown ? isHealthy(before) : before.container === 'running';
    const isUp = patroniKnown ? isHealthy(m) : m.container === 'running';
    if (wasUp && !isUp) events.push({ at, kind: 'member-down', member: m.name, message: `${m.name} down: ${downReason(m)}` });
    if (!wasUp && isUp) events.push({ at, kind: 'member-up', member: m.name, message: `${m.name} up (${m.patroni?.role ?? 'running'})` });
  }
  for (const m of prev.members) {
    if (byName(cur, m.name)) continue;
    if (m.host !== undefined && downNow.has(m.host)) {
      events.push({ at, kind: 'member-down', member: m.name, message: `${m.name} down: host ${m.host} does not answer` });
      continue;
    }
    events.push({ at, kind: 'member-removed', member: m.name, message: `${m.name} removed (its container is gone)` });
  }

  // Leader. Only judged when Patroni answered: no answer is not "no leader".
  if (cur.patroniAnswered) {
    const leader = leaderOf(cur);
    const old = next.lastLeader;
    if (old !== undefined && isGone(byName(cur, old)) && !next.lastLeaderDown) {
      next.lastLeaderDown = downReason(byName(cur, old));
    }
    if (!leader) {
      if (!next.leaderless) {
        events.push({ at, kind: 'no-leader', message: `no leader${old ? ` (was ${old})` : ''}` });
        next.leaderless = true;
      }
    } else {
      next.leaderless = false;
      if (old === undefined) {
        events.push({ at, kind: 'leader-elected', member: leader.name, message: `${leader.name} is the leader` });
      } else if (leader.name !== old) {
        events.push(next.lastLeaderDown
          ? { at, kind: 'failover', member: leader.name, message: `failover: ${leader.name} is the new leader (${old} was down: ${next.lastLeaderDown})` }
          : { at, kind: 'switchover', member: leader.name, message: `switchover: leader ${old} → ${leader.name} (${old} kept running)` });
      }
      next.lastLeader = leader.name;
      // The leader serving again (or a new one) closes the episode.
      if (leader.name !== old || isHealthy(leader)) next.lastLeaderDown = undefined;
    }
    const tl = leader?.patroni?.timeline;
    if (tl !== undefined) {
      if (next.timeline !== undefined && tl !== next.timeline) {
        events.push({ at, kind: 'timeline-changed', member: leader?.name, message: `timeline ${next.timeline} → ${tl}` });
      }
      next.timeline = tl;
    }
  }

  // Replication lag crossing the threshold, either way.
  for (const m of cur.members) {
    const lag = m.patroni?.lag;
    const before = byName(prev, m.name)?.patroni?.lag;
    if (lag === undefined || m.patroni?.role === 'leader') continue;
    const high = lag > o.lagThresholdBytes;
    const wasHigh = before !== undefined && before > o.lagThresholdBytes;
    if (high && !wasHigh) events.push({ at, kind: 'lag-high', member: m.name, message: `${m.name} lags ${formatBytes(lag)} (threshold ${formatBytes(o.lagThresholdBytes)})` });
    if (!high && wasHigh) events.push({ at, kind: 'lag-ok', member: m.name, message: `${m.name} caught up (lag ${formatBytes(lag)})` });
  }
  return { events, memory: next };
}

/** Append to a bounded log: the newest `max` events are kept. */
export function appendBounded(log: ClusterEvent[], add: ClusterEvent[], max: number): ClusterEvent[] {
  const all = log.concat(add);
  return all.length > max ? all.slice(all.length - max) : all;
}
