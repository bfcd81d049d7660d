/**
 * ClusterWatch healing rules. Pure code (the workflow decides, activities act), so the rules are
 * unit-tested without Docker or Patroni.
 *
 * Restart a member container only when ALL hold:
 *  - it exists, carries the cluster's labels and is `exited` (never `created`: a workflow is still
 *    setting it up; never `restarting`: Docker's restart policy is on it);
 *  - its exit code is not 0. dbaas stops members gracefully (RemoveReplica, AddReplica's
 *    compensation, DeleteCluster: `docker stop` → Patroni shuts PostgreSQL down → exit 0), and so
 *    does an operator's `docker stop`: a clean stop is a decision, never undone. A crash, the OOM
 *    killer or `docker kill` ends with a non-zero code (137 for SIGKILL);
 *  - it has stayed exited for at least the grace period (Docker's FinishedAt against the observer's
 *    clock) AND was already seen exited, with the same FinishedAt, by an earlier poll. The grace is
 *    ttl + loop_wait while another member leads: Patroni gets the time to fail over first, so the
 *    member comes back as a replica (pg_rewind) instead of racing for its old leader key. Without a
 *    running leader it is 3 × (ttl + loop_wait): an election may still be under way, but a cluster
 *    that cannot fail over (one member, or only nofailover replicas) gets its leader back. Either
 *    way a workflow that stops a member to remove it (stop, then remove within a second) is long
 *    done;
 *  - it was restarted fewer than 3 times in the last 30 minutes (a crash loop is reported once
 *    and left to an operator);
 *  - the cluster is not being deleted: DeleteCluster cancels the watch before it removes anything.
 *    The watch never creates a container, only starts an existing one, and the removal is forced,
 *    so even a start racing with the delete leaves nothing behind.
 *
 * Reinitialize a member (Patroni POST /reinitialize: wipe its data and clone again) only when ALL hold:
 *  - another member is the running leader (there is something to clone from);
 *  - its container runs and Patroni lists it as a non-leader;
 *  - it is stuck: Patroni reports `start failed`, `crashed`, `stopped`, `restart failed` or
 *    `stop failed`, or it runs on an older timeline than the leader's (a failed pg_rewind leaves it
 *    there, unable to follow) — continuously for `stuckAfterMs` (60 s: a rewind takes seconds);
 *  - it was not reinitialized in the last `reinitCooldownMs` (one attempt per 10 minutes).
 */
import type { ProfileName } from './spec';
import { PROFILES } from './spec';
import { leaderOf, type ClusterSnapshot, type MemberObservation } from './events';
import { LEGACY_POSTGRES_VERSION, timingFor, type PostgresVersion } from './postgres-version';

export interface HealingRules {
  /** A non-zero exit must be this old before the container is started again (another member leads). */
  exitedGraceMs: number;
  /** The same while no other member leads: Patroni may still be electing one. */
  exitedNoLeaderGraceMs: number;
  /** A member must be stuck this long before it is reinitialized. */
  stuckAfterMs: number;
  /** At most one reinitialize per member in this period. */
  reinitCooldownMs: number;
}

export interface WatchTiming {
  /** Time between two polls. */
  intervalMs: number;
  rules: HealingRules;
}

/** Poll about once per Patroni HA loop (2 s fast, 5 s default); heal after ttl + loop_wait. */
export function watchTiming(profile: ProfileName, version: PostgresVersion = LEGACY_POSTGRES_VERSION): WatchTiming {
  const p = timingFor(PROFILES[profile].patroni, version);
  return {
    intervalMs: Math.min(5000, Math.max(1000, p.loopWait * 1000)),
    rules: { exitedGraceMs: (p.ttl + p.loopWait) * 1000, exitedNoLeaderGraceMs: 3 * (p.ttl + p.loopWait) * 1000, stuckAfterMs: 60_000, reinitCooldownMs: 600_000 },
  };
}

export interface HealingMemory {
  /** member → FinishedAt of the exit already seen by an earlier poll. */
  exitedSeen: Record<string, string>;
  /** member → FinishedAt of an exit left alone and already reported (reported once). */
  cleanExitReported: Record<string, string>;
  /** member → ms since when it has been continuously stuck. */
  stuckSince: Record<string, number>;
  /** member → ms of the last reinitialize request. */
  lastReinitAt: Record<string, number>;
  /** member → ms of its restarts within the last RESTART_WINDOW_MS (a crash loop stops being restarted). */
  restartsAt?: Record<string, number[]>;
}

/** At most this many restarts of one member per window; then it is left to an operator. */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 30 * 60_000;

export const emptyHealingMemory = (): HealingMemory => ({ exitedSeen: {}, cleanExitReported: {}, stuckSince: {}, lastReinitAt: {}, restartsAt: {} });

export type HealAction =
  | { kind: 'restart'; member: string; finishedAt: string; reason: string }
  | { kind: 'reinitialize'; member: string; reason: string }
  /** Nothing to do, but worth one event (e.g. a member stopped cleanly is left stopped). */
  | { kind: 'skip'; member: string; reason: string };

export const STUCK_STATES = new Set(['start failed', 'crashed', 'stopped', 'restart failed', 'stop failed']);

function stuckReason(m: MemberObservation, leaderTimeline: number | undefined): string | undefined {
  const p = m.patroni;
  if (!p || m.container !== 'running' || p.role === 'leader' || p.role === 'standby_leader') return undefined;
  if (STUCK_STATES.has(p.state)) return `Patroni state "${p.state}"`;
  if (p.state === 'running' && p.timeline !== undefined && leaderTimeline !== undefined && p.timeline < leaderTimeline) {
    return `on timeline ${p.timeline}, the leader is on ${leaderTimeline}`;
  }
  return undefined;
}

function secondsAgo(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The grace periods follow the cluster's current ttl and loop_wait when the snapshot has them (e.g. after a profile change). */
export function rulesFor(s: ClusterSnapshot, rules: HealingRules): HealingRules {
  if (!s.ha) return rules;
  const grace = (s.ha.ttl + s.ha.loopWait) * 1000;
  return { ...rules, exitedGraceMs: grace, exitedNoLeaderGraceMs: 3 * grace };
}

/** What to heal in this snapshot, and the memory for the next poll. */
export function decideHealing(s: ClusterSnapshot, memory: HealingMemory, base: HealingRules): { actions: HealAction[]; memory: HealingMemory } {
  const rules = rulesFor(s, base);
  const restartsAt: Record<string, number[]> = {};
  for (const [name, times] of Object.entries(memory.restartsAt ?? {})) {
    const recent = times.filter((t) => s.at - t < RESTART_WINDOW_MS);
    if (recent.length > 0) restartsAt[name] = recent;
  }
  const next: HealingMemory = { exitedSeen: {}, cleanExitReported: {}, stuckSince: {}, lastReinitAt: { ...memory.lastReinitAt }, restartsAt };
  const actions: HealAction[] = [];
  const leader = leaderOf(s);
  const leaderRunning = leader !== undefined && leader.container === 'running' && leader.patroni?.state === 'running';

  for (const m of s.members) {
    // Restart: exited with a non-zero code, for long enough, seen by an earlier poll too.
    if (m.container === 'exited' && m.finishedAt !== undefined) {
      const seenBefore = memory.exitedSeen[m.name] === m.finishedAt;
      next.exitedSeen[m.name] = m.finishedAt;
      if (m.exitCode === 0) {
        // Said once, and only from the second sighting: a member being removed is gone by then.
        if (memory.cleanExitReported[m.name] === m.finishedAt) next.cleanExitReported[m.name] = m.finishedAt;
        else if (seenBefore) {
          next.cleanExitReported[m.name] = m.finishedAt;
          actions.push({ kind: 'skip', member: m.name, reason: `${m.name} was stopped cleanly (exit 0): left stopped (start it with docker start)` });
        }
        continue;
      }
      const age = s.at - Date.parse(m.finishedAt);
      const grace = leaderRunning && leader.name !== m.name ? rules.exitedGraceMs : rules.exitedNoLeaderGraceMs;
      if (seenBefore && age >= grace) {
        const recent = restartsAt[m.name] ?? [];
        if (recent.length >= MAX_RESTARTS) {
          // A crash loop: say so once per exit, and leave it (the cleanExitReported slot marks "said").
          if (memory.cleanExitReported[m.name] !== m.finishedAt) {
            actions.push({ kind: 'skip', member: m.name, reason: `${m.name} exited with code ${m.exitCode ?? '?'} again after ${recent.length} restarts in ${RESTART_WINDOW_MS / 60_000} min: left stopped (see docker logs)` });
          }
          next.cleanExitReported[m.name] = m.finishedAt;
          continue;
        }
        actions.push({ kind: 'restart', member: m.name, finishedAt: m.finishedAt, reason: `container exited with code ${m.exitCode ?? '?'} ${secondsAgo(age)} ago` });
        restartsAt[m.name] = [...recent, s.at];
        delete next.exitedSeen[m.name];
      }
      continue;
    }

    // Reinitialize: stuck for long enough while a leader runs.
    const why = leaderRunning && leader.name !== m.name ? stuckReason(m, leader.patroni?.timeline) : undefined;
    if (!why) continue;
    const since = memory.stuckSince[m.name] ?? s.at;
    next.stuckSince[m.name] = since;
    const last = memory.lastReinitAt[m.name];
    if (s.at - since >= rules.stuckAfterMs && (last === undefined || s.at - last >= rules.reinitCooldownMs)) {
      actions.push({ kind: 'reinitialize', member: m.name, reason: `${why} for ${secondsAgo(s.at - since)}` });
      next.lastReinitAt[m.name] = s.at;
      delete next.stuckSince[m.name];
    }
  }
  return { actions, memory: next };
}
