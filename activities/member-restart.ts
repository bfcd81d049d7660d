/**
 * A member's PostgreSQL restarted through Patroni (POST /restart), once. Patroni's /patroni reports
 * the postmaster's start time; the workflow records it before the restart, and a retried attempt
 * (a worker killed mid-step) that finds another start time knows the restart happened and only
 * waits for it. Also: what the restart needs to know of each member (pending_restart, start time),
 * and the candidate's HAProxy ro server held out of the balance across a switchover.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { LOCAL_HOST } from '../common/inventory';
import { syncModeOf } from '../common/spec';
import { restartStepDecision, type RestartSnapshot } from '../common/cluster-restart';
import { describeCluster, type ClusterDescription } from './cluster';
import { clusterAccess } from './cluster-access';
import { runtimeCommand, serverRows, statsCsv } from './haproxy';
import { heartbeat, pause, pollUntil } from './heartbeat';
import { normalizeRole, postgresStateOf, type MemberRole } from './patroni-api';
import { memberApi } from './patroni';
import { postgresFatalSince } from './postgres-log';

/** Patroni answered the restart with a refusal (bad credentials, a condition it will not meet): final. */
export const RESTART_REFUSED = 'RestartRefused';
/** PostgreSQL did not start again (a value it cannot start with): final, Patroni would only try the same start again. */
export const RESTART_FAILED = 'RestartFailed';

export interface PostmasterStatus {
  state: string;
  role: MemberRole;
  /** Patroni's postmaster_start_time (its own text form, compared as is); null while PostgreSQL does not run. */
  startedAt: string | null;
  pendingRestart: boolean;
}

/** GET /patroni: state, role, postmaster start time and pending_restart (a 503 still carries the body). */
export async function postmasterStatus(api: string): Promise<PostmasterStatus> {
  const res = await fetch(`${api}/patroni`, { signal: AbortSignal.timeout(2000) });
  const b = (await res.json()) as { state?: string; role?: string; postmaster_start_time?: unknown; pending_restart?: unknown };
  return {
    state: postgresStateOf(b.state ?? 'unknown'),
    role: normalizeRole(b.role),
    startedAt: typeof b.postmaster_start_time === 'string' && b.postmaster_start_time ? b.postmaster_start_time : null,
    pendingRestart: b.pending_restart === true,
  };
}

/** Every member with its restart-relevant state, the leader, and what the steps around it need. */
export async function restartSnapshot(inv: Inventory, cluster: string): Promise<RestartSnapshot> {
  return restartSnapshotOf(inv, await describeCluster(inv, cluster));
}

/** The same, of a cluster already described (the rebuild reads its settings from the same look). */
export async function restartSnapshotOf(inv: Inventory, desc: ClusterDescription): Promise<RestartSnapshot> {
  const { cluster } = desc;
  const members = await Promise.all(desc.members.map(async (m) => {
    const api = m.running ? await memberApi(inv, cluster, m.name) : undefined;
    const s = api ? await postmasterStatus(api).catch(() => undefined) : undefined;
    const state = s?.state ?? m.state;
    return {
      name: m.name,
      role: m.role,
      readOnly: m.readOnly,
      running: m.running && state === 'running' && typeof s?.startedAt === 'string',
      state,
      pendingRestart: s?.pendingRestart ?? false,
      startedAt: s?.startedAt ?? null,
    };
  }));
  return {
    cluster,
    leader: desc.leader,
    members,
    statsPort: desc.ports?.stats ?? null,
    profile: desc.settings.profile,
    syncMode: syncModeOf(desc.settings),
    acrossHosts: desc.members.some((m) => (m.host ?? LOCAL_HOST) !== LOCAL_HOST),
  };
}

export interface RestartMemberInput {
  cluster: string;
  member: string;
  /** The postmaster start time recorded before the run restarted the member. */
  startedBefore: string;
  timeoutMs: number;
}

export interface RestartMemberResult {
  /** restarted: this attempt asked Patroni; already-restarted: it found a new postmaster running. */
  outcome: 'restarted' | 'already-restarted';
  startedAt: string;
  /** From the request to PostgreSQL running again (this attempt's request only). */
  restartMs?: number;
}

type PostAnswer = { status: number; text: string } | { error: string };

export function createMemberRestartActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  /** The runtime API answers an empty line on success and a message on failure. */
  const runtime = async (cluster: string, command: string): Promise<void> => {
    const out = await runtimeCommand(docker, cluster, command);
    if (out.length > 0) throw new Error(`haproxy "${command}": ${out}`);
  };
  const apiOf = async (cluster: string, member: string): Promise<string> => {
    const api = await memberApi(inv, cluster, member);
    if (!api) throw new Error(`${member} of ${cluster} is not running (no container)`);
    return api;
  };

  /** Why the member's PostgreSQL did not start: its FATAL line since the restart was asked, when the log has one. */
  const startFailure = async (cluster: string, member: string, since: number): Promise<string> => {
    const m = (await inv.members(cluster, { kind: 'postgres' })).find((x) => x.name === member);
    const line = m ? await postgresFatalSince(inv.engine(m.host), m.container, since) : undefined;
    return `${member}'s PostgreSQL did not start after its restart${line ? `: ${line}` : ' (Patroni: restart failed)'}`;
  };

  return {
    async restartSnapshot(cluster: string): Promise<RestartSnapshot> {
      return restartSnapshot(inv, cluster);
    },

    /** The member's postmaster as Patroni reports it now. */
    async postmasterStartTime(i: { cluster: string; member: string }): Promise<{ state: string; startedAt: string | null }> {
      const s = await postmasterStatus(await apiOf(i.cluster, i.member));
      return { state: s.state, startedAt: s.startedAt };
    },

    /**
     * Restart the member's PostgreSQL unless a new postmaster already runs, and return once Patroni
     * reports it running with a start time other than the recorded one. Patroni answers POST
     * /restart when the restart is over; a stopping or starting PostgreSQL (an earlier attempt's
     * request under way) is waited for, never asked again, and so is the old postmaster once asked.
     */
    async restartMember(i: RestartMemberInput): Promise<RestartMemberResult> {
      const abort = new AbortController();
      /** When this attempt asked Patroni (it asks at most once), and Patroni's answer once it came. */
      let askedAt: number | undefined;
      let answer: (PostAnswer & { at: number }) | undefined;
      const ask = (api: string): void => {
        askedAt = Date.now();
        void fetch(`${api}/restart`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...clusterAccess(paths, i.cluster).patroniHeaders },
          body: '{}',
          signal: abort.signal,
        }).then(
          async (res) => void (answer = { status: res.status, text: (await res.text()).trim(), at: Date.now() }),
          (err: Error) => void (answer = { error: err.message, at: Date.now() }),
        );
      };
      try {
        const r = await pollUntil<{ startedAt: string } | { refused: string } | { unanswered: string } | { failed: string }>(
          `${i.member} to run again after its restart`,
          async () => {
            // 503 (restart already in progress, postgres still starting, restart failed): Patroni
            // goes on with it, and its state says when it is over. Anything else refuses.
            if (answer && 'status' in answer && answer.status !== 200 && answer.status !== 503) {
              return { done: { refused: `Patroni refused to restart ${i.member} (${answer.status}): ${answer.text}` } };
            }
            const api = await apiOf(i.cluster, i.member);
            const now = restartStepDecision(await postmasterStatus(api), i.startedBefore);
            if (now.kind === 'done') return { done: { startedAt: now.startedAt } };
            // "restart failed" with no postmaster running: the new one exited at start. Patroni's HA
            // loop would only try the same start again, every loop_wait, for good.
            if (now.kind === 'wait' && askedAt !== undefined && answer && 'status' in answer && /restart failed/.test(answer.text)) {
              return { done: { failed: await startFailure(i.cluster, i.member, askedAt) } };
            }
            if (now.kind === 'ask' && askedAt === undefined) ask(api);
            const said = answer === undefined ? '' : 'error' in answer ? `; request failed: ${answer.error}` : `; Patroni said ${answer.status} ${answer.text}`;
            // Answered, yet the old postmaster still runs: Patroni did not take it (busy with another
            // action, or the request was lost). The step's next attempt asks again.
            if (now.kind === 'ask' && answer && Date.now() - answer.at > 3000) return { done: { unanswered: `Patroni did not restart ${i.member}${said}` } };
            return { status: `${now.kind === 'ask' ? 'the old postmaster still runs' : 'PostgreSQL is stopping or starting'}${said}` };
          },
          { intervalMs: 250, timeoutMs: i.timeoutMs },
        );
        if ('refused' in r) throw ApplicationFailure.create({ type: RESTART_REFUSED, message: r.refused, nonRetryable: true });
        if ('unanswered' in r) throw new Error(r.unanswered);
        if ('failed' in r) throw ApplicationFailure.create({ type: RESTART_FAILED, message: r.failed, nonRetryable: true });
        return askedAt === undefined ? { outcome: 'already-restarted', startedAt: r.startedAt } : { outcome: 'restarted', startedAt: r.startedAt, restartMs: Date.now() - askedAt };
      } finally {
        // Patroni goes on with a restart it began; only its answer is no longer awaited.
        abort.abort();
      }
    },

    /**
     * No new sessions through HAProxy ro to the member about to be promoted, and its ro sessions
     * ended (up to timeoutMs): once it leads, its ro check fails and HAProxy cuts its ro sessions
     * (on-marked-down shutdown-sessions). Its rw server stays as it is: the switchover steers rw.
     */
    async drainReadOnlyServer(i: { cluster: string; member: string; statsPort: number; timeoutMs: number }): Promise<{ sessionsLeft: number }> {
      await runtime(i.cluster, `set server ro/${i.member} state drain`);
      const deadline = Date.now() + i.timeoutMs;
      for (;;) {
        const row = serverRows(await statsCsv(await inv.frontDoorAt(i.cluster, i.statsPort))).find((r) => r.proxy === 'ro' && r.server === i.member);
        const sessions = row?.sessions ?? 0;
        heartbeat(`draining ${i.member} in ro: ${sessions} sessions`);
        if (sessions === 0 || Date.now() > deadline) return { sessionsLeft: sessions };
        await pause(250);
      }
    },

    /** Undo drainReadOnlyServer: in the balance again, DOWN until its own ro check (/replica) passes. */
    async restoreReadOnlyServer(i: { cluster: string; member: string }): Promise<void> {
      await runtime(i.cluster, `set server ro/${i.member} state ready; set server ro/${i.member} health down`);
    },
  };
}
