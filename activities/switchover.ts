/**
 * Planned switchover through Patroni's REST API: the candidate check's snapshot, the one POST
 * /switchover (never a second one on retry), the wait for the new leader to hold HAProxy's rw
 * port, and cancelling a scheduled switchover.
 */
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import type { Paths } from '../common/paths';
import { DEFAULT_DATABASE, HAPROXY_MEMBER, PATRONI_API_PORT, SUPERUSER, containerName } from '../common/names';
import { SOCKET_DIR } from '../common/render/patroni';
import { HAPROXY_ADMIN_SOCKET } from '../common/render/haproxy';
import { PROFILES, etcdMemberNames } from '../common/spec';
import { issueDecision, type IssueRequest, type SwitchoverSnapshot } from '../common/switchover';
import { describeCluster } from './cluster';
import { containerIp, execIn } from './docker';
import { ErrorTypes } from './errors';
import { haproxyBackends, serverRows } from './haproxy';
import { heartbeat, pause, pollUntil } from './heartbeat';
import { getPatroni } from './patroni-api';
import { clusterView, memberApi } from './patroni';
import { readDcs, type DcsView } from './switchover-dcs';

/** Patroni gave up on the request (or never acted on it): final, the leader stays. */
export const SWITCHOVER_FAILED = 'SwitchoverFailed';

export interface RequestSwitchoverInput extends IssueRequest {
  cluster: string;
  etcdMembers: string[];
  /** HAProxy stats port; null when the cluster has no HAProxy. */
  statsPort: number | null;
}

export interface RequestSwitchoverResult {
  /** issued: this attempt's POST; already-*: a first attempt did it (no second POST). */
  outcome: 'issued' | 'scheduled' | 'already-issued' | 'already-switched';
  detail: string;
}

export interface WaitSwitchedInput {
  cluster: string;
  from: string;
  /** The requested candidate; any new leader counts when undefined. */
  to?: string;
  etcdMembers: string[];
  statsPort: number | null;
  timeoutMs: number;
}

export interface WaitSwitchedResult {
  leader: string;
  timeline: number;
  steeredHaproxy: boolean;
}

export interface CancelScheduledInput {
  cluster: string;
  from: string;
  at: string;
  timelineBefore: number;
  etcdMembers: string[];
  loopWaitSec: number;
}

const refused = (message: string): ApplicationFailure =>
  ApplicationFailure.create({ type: ErrorTypes.MemberRefused, message, nonRetryable: true });
const failed = (message: string): ApplicationFailure => ApplicationFailure.create({ type: SWITCHOVER_FAILED, message, nonRetryable: true });

type PostOutcome = { status: number; text: string } | { error: Error };

/** The first member whose Patroni API answers, preferring `first`. */
async function anyApi(docker: Docker, cluster: string, first: string, others: string[]): Promise<string> {
  for (const m of [first, ...others.filter((o) => o !== first)]) {
    const api = await memberApi(docker, cluster, m);
    if (api) return api;
  }
  throw new Error(`no Patroni API of ${cluster} is reachable`);
}

/** The member's answer to HAProxy's rw check (OPTIONS /primary), or undefined when it does not answer. */
async function primaryStatus(docker: Docker, cluster: string, member: string): Promise<number | undefined> {
  const ip = await containerIp(docker, cluster, containerName(cluster, member));
  if (!ip) return undefined;
  try {
    const res = await fetch(`http://${ip}:${PATRONI_API_PORT}/primary`, { method: 'OPTIONS', signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/**
 * HAProxy rw during a switchover, through the runtime API; the health checks keep running and
 * decide alone once it is over:
 * - the old leader is set to DRAIN (no new connections; established sessions go on) just before
 *   POST /switchover, or, for a scheduled one, once its Patroni says "stopping" (pg_ctl stop);
 * - it is set back to READY with its health DOWN once its /primary answers 503 (its checks
 *   agree from then on) or the leader key moved;
 * - the new leader's health is set UP once its /primary answers 200.
 * A retried attempt reads the DRAIN state back from the stats, so nothing stays drained.
 */
class RwSteering {
  private drained = false;
  /** The old leader is back to READY with health DOWN: nothing more to do for it. */
  private restored = false;
  private newUp = false;
  steered = false;

  constructor(private readonly docker: Docker, private readonly cluster: string, private readonly statsPort: number) {}

  private async run(command: string): Promise<void> {
    const r = await execIn(this.docker, containerName(this.cluster, HAPROXY_MEMBER), ['socat', 'stdio', HAPROXY_ADMIN_SOCKET], `${command}\n`);
    const out = r.output.trim();
    // The runtime API answers an empty line on success and a message on failure.
    if (r.exitCode !== 0 || out.length > 0) throw new Error(`haproxy "${command}": ${out || `exit ${r.exitCode}`}`);
  }

  private async rwStatus(member: string): Promise<string | undefined> {
    const res = await fetch(`http://127.0.0.1:${this.statsPort}/;csv`, { signal: AbortSignal.timeout(2000) });
    return serverRows(await res.text()).find((r) => r.proxy === 'rw' && r.server === member)?.status;
  }

  /** No new rw connections to the leader about to demote (established sessions go on). */
  async drainOldLeader(from: string): Promise<void> {
    await this.run(`set server rw/${from} state drain`);
    this.drained = true;
    this.steered = true;
  }

  async oldLeader(from: string, leaderMoved: boolean): Promise<void> {
    if (this.restored) return;
    const status = await this.rwStatus(from);
    if (status?.startsWith('DRAIN')) this.drained = true; // perhaps a previous attempt's
    if (leaderMoved || (this.drained && (await primaryStatus(this.docker, this.cluster, from)) === 503)) {
      // It no longer is the primary: health DOWN is what its checks will find from now on.
      if (this.drained || status?.startsWith('UP')) {
        await this.run(`set server rw/${from} health down`);
        this.steered = true;
      }
      if (this.drained) await this.run(`set server rw/${from} state ready`);
      this.drained = false;
      this.restored = true;
      return;
    }
    if (this.drained) return;
    const api = await memberApi(this.docker, this.cluster, from);
    const s = api ? await getPatroni(api).catch(() => undefined) : undefined;
    if (s !== undefined && (s.state === 'stopping' || s.state === 'stopped' || s.role !== 'leader')) {
      await this.run(`set server rw/${from} state drain`);
      this.drained = true;
      this.steered = true;
    }
  }

  async newLeader(leader: string, from: string): Promise<string | undefined> {
    if (!this.newUp) {
      await this.run(`set server rw/${leader} health up`);
      this.newUp = true;
    }
    const up = (await haproxyBackends(this.statsPort)).rwUp;
    if (up.length === 1 && up[0] === leader && !(await this.rwStatus(from))?.startsWith('DRAIN')) return undefined;
    return `${leader} leads; HAProxy rw UP: [${up.join(', ')}]`;
  }

  /** Back to READY if drained: the health checks alone decide from here on. */
  async undrain(member: string): Promise<void> {
    if ((await this.rwStatus(member))?.startsWith('DRAIN')) await this.run(`set server rw/${member} state ready`);
    this.drained = false;
  }
}

export function createSwitchoverActivities(docker: Docker, _paths: Paths) {
  const switched = (d: DcsView, i: { from: string; timelineBefore: number }): boolean =>
    (d.leader !== null && d.leader !== i.from) || (d.timeline !== null && d.timeline > i.timelineBefore);

  return {
    /** Everything the candidate check needs: members with state, lag, streaming, tags; the DCS's pending request. */
    async switchoverSnapshot(cluster: string): Promise<SwitchoverSnapshot> {
      const desc = await describeCluster(docker, cluster);
      const etcdMembers = etcdMemberNames(desc.settings.etcdMembers);
      const names = desc.members.map((m) => m.name);
      const [dcs, view] = await Promise.all([readDcs(docker, cluster, etcdMembers), clusterView(docker, cluster, names)]);
      const streaming = new Set<string>();
      let timeline = dcs.timeline;
      if (dcs.leader) {
        const api = await memberApi(docker, cluster, dcs.leader);
        if (!api) throw new Error(`leader ${dcs.leader} of ${cluster} is not reachable`);
        const st = await getPatroni(api);
        for (const r of st.replication) if (r.state === 'streaming') streaming.add(r.application_name);
        // The member key's timeline lags a promotion by up to loop_wait; the leader's own status does not.
        timeline = st.timeline ?? timeline;
      }
      const profile = PROFILES[desc.settings.profile].patroni;
      return {
        cluster,
        leader: dcs.leader,
        timeline,
        members: desc.members.map((m) => {
          const v = view?.find((x) => x.name === m.name);
          return {
            name: m.name,
            role: m.name === dcs.leader ? 'leader' : (v?.role ?? m.role),
            state: v?.state ?? m.state,
            containerRunning: m.running,
            readOnly: m.readOnly || dcs.members[m.name]?.tags?.nofailover === true,
            streaming: streaming.has(m.name),
            lag: v?.lag,
          };
        }),
        syncMode: dcs.config.synchronousMode === true,
        paused: dcs.config.paused === true,
        maxLagBytes: dcs.config.maximumLagOnFailover ?? profile.maximumLagOnFailover,
        pending: dcs.failover,
        statsPort: desc.ports?.stats ?? null,
        loopWaitSec: dcs.config.loopWait ?? profile.loopWait,
        etcdMembers,
      };
    },

    /**
     * POST /switchover once. A retry first reads the DCS: a pending request of ours, a new leader
     * or an advanced timeline mean the first attempt already issued it. Patroni answers an
     * immediate switchover only when it is over (polling for up to 20 s); the request counts as
     * issued as soon as its /failover key is in the DCS, so the workflow's next step (the wait
     * for the new leader) covers the actual switch.
     */
    async requestSwitchover(i: RequestSwitchoverInput): Promise<RequestSwitchoverResult> {
      const before = await readDcs(docker, i.cluster, i.etcdMembers);
      const d = issueDecision(before, i);
      if (d.kind === 'switched') return { outcome: 'already-switched', detail: `${d.leader || 'a new leader'} already took over` };
      if (d.kind === 'pending') return { outcome: 'already-issued', detail: 'the request is already in the DCS' };
      if (d.kind === 'conflict') throw refused(d.reason);
      if (d.kind === 'no-leader') throw new Error(`${i.cluster} has no leader right now`);

      const api = await memberApi(docker, i.cluster, i.from);
      if (!api) throw new Error(`leader ${i.from} is not reachable`);
      const steer = i.statsPort === null || i.at ? undefined : new RwSteering(docker, i.cluster, i.statsPort);
      if (steer) {
        // Patroni's graceful demote starts with a CHECKPOINT; done now (writes still flow), the
        // one during the demote has little left to flush and the leader stops sooner.
        const cp = await execIn(docker, containerName(i.cluster, i.from), ['psql', '-h', SOCKET_DIR, '-X', '-q', '-U', SUPERUSER, '-d', DEFAULT_DATABASE, '-c', 'CHECKPOINT']);
        if (cp.exitCode !== 0) throw new Error(`CHECKPOINT on ${i.from} failed: ${cp.output.trim()}`);
        await steer.drainOldLeader(i.from);
      }
      const body = { leader: i.from, ...(i.to ? { candidate: i.to } : {}), ...(i.at ? { scheduled_at: i.at } : {}) };
      const abort = new AbortController();
      const post: Promise<PostOutcome> = fetch(`${api}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: abort.signal,
      }).then(
        async (res) => ({ status: res.status, text: (await res.text()).trim() }),
        (error: Error) => ({ error }),
      );
      const issuedNow = async (): Promise<boolean> => {
        const now = await readDcs(docker, i.cluster, i.etcdMembers).catch(() => undefined);
        const k = now && issueDecision(now, i).kind;
        return k === 'pending' || k === 'switched';
      };
      const deadline = Date.now() + 60_000;
      let issued = false;
      try {
        for (;;) {
          const answer = await Promise.race([post, pause(50).then(() => undefined)]);
          if (answer && 'error' in answer) {
            if ((issued = await issuedNow())) return { outcome: i.at ? 'scheduled' : 'issued', detail: 'request in the DCS' };
            throw new Error(`POST /switchover to ${i.from} failed: ${answer.error.message}`);
          }
          if (answer) {
            if (answer.status === 200) return { outcome: 'issued', detail: answer.text };
            if (answer.status === 202) return { outcome: 'scheduled', detail: answer.text };
            if ([400, 412, 422].includes(answer.status)) throw refused(`Patroni refused the switchover: ${answer.text}`);
            if ((issued = await issuedNow())) return { outcome: 'issued', detail: answer.text };
            if (answer.status === 503) throw failed(`Patroni did not switch over (${answer.text}); ${i.from} stays the leader`);
            throw new Error(`POST /switchover answered ${answer.status}: ${answer.text}`);
          }
          heartbeat('waiting for the request to reach the DCS');
          if ((issued = await issuedNow())) return { outcome: i.at ? 'scheduled' : 'issued', detail: 'request in the DCS' };
          if (Date.now() > deadline) throw new Error('POST /switchover: no answer and no request in the DCS after 60 s');
        }
      } catch (err) {
        // Not issued: the old leader keeps its rw traffic.
        if (!issued) await steer?.undrain(i.from).catch(() => undefined);
        throw err;
      } finally {
        // Patroni keeps acting on the key it wrote; only its answer is no longer awaited.
        abort.abort();
      }
    },

    /**
     * The new leader holds the leader key, answers /primary, and is the only server UP in
     * HAProxy rw. Left to its health checks, HAProxy keeps the old leader UP for seconds after
     * its PostgreSQL stopped (Patroni 3.0.2 answers /primary 200 while "stopping"); connections
     * sent there are refused and retried by HAProxy on the same server about 1 s apart, holding
     * clients well past the moment the new leader is ready. So HAProxy is steered through its
     * runtime API (see RwSteering): the old leader drained as soon as Patroni says "stopping",
     * the new one marked up as soon as its /primary answers 200.
     */
    async waitForSwitchedLeader(i: WaitSwitchedInput): Promise<WaitSwitchedResult> {
      const steer = i.statsPort === null ? undefined : new RwSteering(docker, i.cluster, i.statsPort);
      let droppedSince: number | undefined;
      try {
        const r = await pollUntil<WaitSwitchedResult | { failed: string }>(
          `${i.to ?? 'a new leader'} to lead and hold the rw port`,
          async () => {
            const d = await readDcs(docker, i.cluster, i.etcdMembers);
            const moved = d.leader !== null && d.leader !== i.from;
            await steer?.oldLeader(i.from, moved);
            if (!moved) {
              const pending = d.failover?.leader === i.from;
              if (d.leader === i.from && !pending) {
                // The key is gone but the leader did not change: Patroni dropped the request.
                droppedSince ??= Date.now();
                if (Date.now() - droppedSince > 3000) {
                  return { done: { failed: `Patroni dropped the switchover request (its log says why, e.g. no healthy candidate); ${i.from} stays the leader` } };
                }
              } else droppedSince = undefined;
              return { status: d.leader ? `${d.leader} still leads${pending ? ', request pending' : ''}` : 'no leader key (the old leader is demoting)' };
            }
            const leader = d.leader as string;
            if ((await primaryStatus(docker, i.cluster, leader)) !== 200) return { status: `${leader} holds the leader key, not yet primary` };
            if (steer) {
              const rw = await steer.newLeader(leader, i.from);
              if (rw) return { status: rw };
            }
            // The member key's timeline is updated on the new leader's next HA loop; its own status is current.
            const api = await memberApi(docker, i.cluster, leader);
            const timeline = (api ? (await getPatroni(api)).timeline : undefined) ?? d.timeline ?? 0;
            return { done: { leader, timeline, steeredHaproxy: steer?.steered ?? false } };
          },
          { intervalMs: 50, timeoutMs: i.timeoutMs },
        );
        if ('failed' in r) throw failed(r.failed);
        return r;
      } finally {
        // Never leave the old leader drained: from here on the health checks alone decide.
        await steer?.undrain(i.from).catch(() => undefined);
      }
    },

    /** Undo a drain left by a wait that failed for good (the workflow's cleanup). */
    async undrainRwServer(i: { cluster: string; member: string; statsPort: number }): Promise<void> {
      await new RwSteering(docker, i.cluster, i.statsPort).undrain(i.member);
    },

    /**
     * Take a scheduled switchover off Patroni's schedule (DELETE /switchover). Patroni's leader
     * may already be acting on it within loop_wait of the time; then watch whether the leader
     * changes anyway and say so (cancelled: false).
     */
    async cancelScheduledSwitchover(i: CancelScheduledInput): Promise<{ cancelled: boolean; leader: string | null }> {
      const d = await readDcs(docker, i.cluster, i.etcdMembers);
      if (switched(d, i)) return { cancelled: false, leader: d.leader };
      if (d.failover?.scheduledAt) {
        const members = Object.keys(d.members);
        const api = await anyApi(docker, i.cluster, i.from, members);
        const res = await fetch(`${api}/switchover`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
        const text = (await res.text()).trim();
        // 404: nothing scheduled any more (it ran, or someone else removed it).
        if (res.status !== 200 && res.status !== 404) throw new Error(`DELETE /switchover answered ${res.status}: ${text}`);
      } else if (d.failover) {
        return { cancelled: false, leader: d.leader };
      }
      const at = Date.parse(i.at);
      const watchUntil = at + (1.5 * i.loopWaitSec + 3) * 1000;
      if (Date.now() < at - (i.loopWaitSec + 2) * 1000) return { cancelled: true, leader: i.from };
      // Close to the time: the leader may have read the key before it was removed.
      for (;;) {
        const now = await readDcs(docker, i.cluster, i.etcdMembers).catch(() => undefined);
        if (now && switched(now, i)) return { cancelled: false, leader: now.leader };
        if (Date.now() > watchUntil) return { cancelled: true, leader: i.from };
        heartbeat('watching whether the leader changes anyway');
        await pause(250);
      }
    },
  };
}
