/**
 * Planned switchover through Patroni's REST API: the candidate check's snapshot, the one POST
 * /switchover (never a second one on retry), the wait for the new leader to hold HAProxy's rw
 * port, and cancelling a scheduled switchover.
 */
import type { Inventory } from './hosts/inventory';
import { LOCAL_HOST } from '../common/inventory';
import { ApplicationFailure } from '@temporalio/common';
import type { Paths } from '../common/paths';
import { DEFAULT_DATABASE, SUPERUSER } from '../common/service-users';
import { containerName } from '../common/resource-names';
import { SOCKET_DIR } from '../common/render/patroni';
import { etcdMemberNames, profileTiming } from '../common/spec';
import { issueDecision, type IssueRequest, type SwitchoverSnapshot } from '../common/switchover';
import { describeCluster } from './cluster';
import { clusterAccess } from './cluster-access';
import { execIn } from './docker';
import { ErrorTypes } from './errors';
import { heartbeat, pause, pollUntil } from './heartbeat';
import { getPatroni } from './patroni-api';
import { clusterView } from './patroni';
import { Addresses, readDcs, type DcsView } from './switchover-dcs';
import { RwSteering } from './switchover-haproxy';
import { versionOf } from '../common/postgres-version';

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
  outcome: 'issued' | 'already-issued' | 'already-switched';
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

const refused = (message: string): ApplicationFailure =>
  ApplicationFailure.create({ type: ErrorTypes.MemberRefused, message, nonRetryable: true });
const failed = (message: string): ApplicationFailure => ApplicationFailure.create({ type: SWITCHOVER_FAILED, message, nonRetryable: true });

type PostOutcome = { status: number; text: string } | { error: Error };

/** The first member whose Patroni API answers, preferring `first`. */
async function anyApi(addresses: Addresses, first: string, others: string[]): Promise<string> {
  for (const m of [first, ...others.filter((o) => o !== first)]) {
    const api = await addresses.api(m);
    if (api) return api;
  }
  throw new Error(`no Patroni API of ${addresses.cluster} is reachable`);
}

/** Everything the candidate check needs: members with state, lag, streaming, tags; the DCS's pending request. */
export async function switchoverSnapshot(inv: Inventory, paths: Paths, cluster: string): Promise<SwitchoverSnapshot> {
  const desc = await describeCluster(inv, cluster);
  const etcdMembers = etcdMemberNames(desc.settings.etcdMembers);
  const names = desc.members.map((m) => m.name);
  const addresses = new Addresses(inv, cluster, clusterAccess(paths, cluster));
  const [dcs, view] = await Promise.all([readDcs(addresses, etcdMembers), clusterView(inv, cluster, names)]);
  const streaming = new Set<string>();
  let timeline = dcs.timeline;
  if (dcs.leader) {
    const api = await addresses.api(dcs.leader);
    if (!api) throw new Error(`leader ${dcs.leader} of ${cluster} is not reachable`);
    const st = await getPatroni(api);
    for (const r of st.replication) if (r.state === 'streaming') streaming.add(r.application_name);
    // The member key's timeline lags a promotion by up to loop_wait; the leader's own status does not.
    timeline = st.timeline ?? timeline;
  }
  const profile = profileTiming(desc.settings.profile, versionOf(desc.settings));
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
    // HAProxy is steered through its runtime API on this machine's engine; across hosts (a front
    // door per host, each behind its own worker) not yet: there its health checks move rw.
    statsPort: desc.members.some((m) => (m.host ?? LOCAL_HOST) !== LOCAL_HOST) ? null : (desc.ports?.stats ?? null),
    loopWaitSec: dcs.config.loopWait ?? profile.loopWait,
    etcdMembers,
  };
}

export function createSwitchoverActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  const switched = (d: DcsView, i: { from: string; timelineBefore: number }): boolean =>
    (d.leader !== null && d.leader !== i.from) || (d.timeline !== null && d.timeline > i.timelineBefore);

  return {
    async switchoverSnapshot(cluster: string): Promise<SwitchoverSnapshot> {
      return switchoverSnapshot(inv, paths, cluster);
    },

    /**
     * POST /switchover once. A retry first reads the DCS: a pending request of ours, a new leader
     * or an advanced timeline mean the first attempt already issued it. Patroni answers an
     * immediate switchover only when it is over (polling for up to 20 s); the request counts as
     * issued as soon as its /failover key is in the DCS, so the workflow's next step (the wait
     * for the new leader) covers the actual switch.
     */
    async requestSwitchover(i: RequestSwitchoverInput): Promise<RequestSwitchoverResult> {
      const addresses = new Addresses(inv, i.cluster, clusterAccess(paths, i.cluster));
      const before = await readDcs(addresses, i.etcdMembers);
      const d = issueDecision(before, i);
      if (d.kind === 'switched') return { outcome: 'already-switched', detail: `${d.leader || 'a new leader'} already took over` };
      if (d.kind === 'pending') return { outcome: 'already-issued', detail: 'the request is already in the DCS' };
      if (d.kind === 'conflict') throw refused(d.reason);
      if (d.kind === 'no-leader') throw new Error(`${i.cluster} has no leader right now`);

      const api = await addresses.api(i.from);
      if (!api) throw new Error(`leader ${i.from} is not reachable`);
      const steer = i.statsPort === null ? undefined : new RwSteering(docker, addresses, i.statsPort);
      if (steer) {
        // Patroni's graceful demote starts with a CHECKPOINT; done now (writes still flow), the
        // one during the demote has little left to flush and the leader stops sooner.
        const cp = await execIn(docker, containerName(i.cluster, i.from), ['psql', '-h', SOCKET_DIR, '-X', '-q', '-U', SUPERUSER, '-d', DEFAULT_DATABASE, '-c', 'CHECKPOINT']);
        if (cp.exitCode !== 0) throw new Error(`CHECKPOINT on ${i.from} failed: ${cp.output.trim()}`);
        await steer.drainOldLeader(i.from);
      }
      const body = { leader: i.from, ...(i.to ? { candidate: i.to } : {}) };
      const abort = new AbortController();
      const post: Promise<PostOutcome> = fetch(`${api}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...addresses.access.patroniHeaders },
        body: JSON.stringify(body),
        signal: abort.signal,
      }).then(
        async (res) => ({ status: res.status, text: (await res.text()).trim() }),
        (error: Error) => ({ error }),
      );
      const issuedNow = async (): Promise<boolean> => {
        const now = await readDcs(addresses, i.etcdMembers).catch(() => undefined);
        const k = now && issueDecision(now, i).kind;
        return k === 'pending' || k === 'switched';
      };
      const deadline = Date.now() + 60_000;
      let issued = false;
      try {
        for (;;) {
          const answer = await Promise.race([post, pause(50).then(() => undefined)]);
          if (answer && 'error' in answer) {
            if ((issued = await issuedNow())) return { outcome: 'issued', detail: 'request in the DCS' };
            throw new Error(`POST /switchover to ${i.from} failed: ${answer.error.message}`);
          }
          if (answer) {
            if (answer.status === 200) return { outcome: 'issued', detail: answer.text };
            // 202 is Patroni's answer to a scheduled switchover, which this never asks for.
            if ([400, 412, 422].includes(answer.status)) throw refused(`Patroni refused the switchover: ${answer.text}`);
            if ((issued = await issuedNow())) return { outcome: 'issued', detail: answer.text };
            if (answer.status === 503) throw failed(`Patroni did not switch over (${answer.text}); ${i.from} stays the leader`);
            throw new Error(`POST /switchover answered ${answer.status}: ${answer.text}`);
          }
          heartbeat('waiting for the request to reach the DCS');
          if ((issued = await issuedNow())) return { outcome: 'issued', detail: 'request in the DCS' };
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
     * The new leader holds the leader key, accepts writes, and is the only server UP in HAProxy
     * rw (steered through the runtime API, see RwSteering).
     */
    async waitForSwitchedLeader(i: WaitSwitchedInput): Promise<WaitSwitchedResult> {
      const addresses = new Addresses(inv, i.cluster, clusterAccess(paths, i.cluster));
      const steer = i.statsPort === null ? undefined : new RwSteering(docker, addresses, i.statsPort);
      let droppedSince: number | undefined;
      try {
        const r = await pollUntil<WaitSwitchedResult | { failed: string }>(
          `${i.to ?? 'a new leader'} to lead and hold the rw port`,
          async () => {
            const d = await readDcs(addresses, i.etcdMembers);
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
            // Patroni 3.0.2 answers /primary 200 as soon as a member holds the leader key, while
            // PostgreSQL may still be in recovery; /patroni's role comes from pg_is_in_recovery().
            const api = await addresses.api(leader);
            const st = api ? await getPatroni(api).catch(() => addresses.forget(leader)) : undefined;
            if (st?.role !== 'leader' || st.state !== 'running') return { status: `${leader} holds the leader key, promoting` };
            if (steer) {
              const rw = await steer.newLeader(leader, i.from);
              if (rw) return { status: rw };
            }
            // The member key's timeline is updated on the new leader's next HA loop; its own status is current.
            return { done: { leader, timeline: st.timeline ?? d.timeline ?? 0, steeredHaproxy: steer?.steered ?? false } };
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
      await new RwSteering(docker, new Addresses(inv, i.cluster, clusterAccess(paths, i.cluster)), i.statsPort).undrain(i.member);
    },
  };
}
