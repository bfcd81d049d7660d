/**
 * ClusterWatch activities: observe the cluster (Docker + Patroni /cluster), start a member
 * container that stayed exited, ask Patroni to reinitialize a stuck member. Each re-checks the
 * world before acting, so a decision made on a stale snapshot does nothing.
 */
import type Docker from 'dockerode';
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { FRONT_DOOR_ROLES, LABEL_CLUSTER, LABEL_MEMBER, LABEL_ROLE, isFrontDoor } from '../common/labels';
import { containerName, volumeName } from '../common/resource-names';
import type { ClusterSnapshot, MemberObservation } from '../common/events';
import { clusterAccess } from './cluster-access';
import { isNotFound, removeClusterContainers } from './docker';
import { clusterView, memberApi } from './patroni';

export interface RestartResult {
  restarted: boolean;
  /** Why nothing was done (the container changed since the decision). */
  reason?: string;
}

export interface FenceResult {
  /** Containers and volumes removed (none when a retried attempt finds them gone). */
  removed: string[];
}

/** A fenced member is not part of the cluster: it gets a few seconds to stop, not a clean shutdown's. */
const FENCE_STOP_TIMEOUT_SEC = 5;

export interface ReinitializeResult {
  accepted: boolean;
  /** Patroni's answer (e.g. "reinitialize started", "I am the leader, can not reinitialize"). */
  answer: string;
}

async function inspectOrUndefined(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** ttl and loop_wait from the DCS (GET /config of the first member that answers). */
async function haTiming(inv: Inventory, cluster: string, names: string[]): Promise<ClusterSnapshot['ha']> {
  for (const m of names) {
    const api = await memberApi(inv, cluster, m);
    if (!api) continue;
    try {
      const res = await fetch(`${api}/config`, { signal: AbortSignal.timeout(2000) });
      const cfg = (await res.json()) as { ttl?: unknown; loop_wait?: unknown };
      if (typeof cfg.ttl === 'number' && typeof cfg.loop_wait === 'number') return { ttl: cfg.ttl, loopWait: cfg.loop_wait };
    } catch {
      // try the next member
    }
  }
  return undefined;
}

export function createWatchActivities(inv: Inventory, paths: Paths) {
  return {
    /** Docker's and Patroni's view of the cluster's Postgres members, stamped with this clock's time. */
    async observeCluster(i: { cluster: string }): Promise<ClusterSnapshot> {
      const { members: listed, unreachable } = await inv.membersAndUnreachable(i.cluster, { kind: 'postgres' });
      const names = listed.map((m) => m.name);
      const exits = await Promise.all(listed.map((m) => inv.host(m.host).lastExit(m.container)));
      // Running members first: a stopped one cannot answer /cluster.
      const view = await clusterView(inv, i.cluster, names);
      const members: MemberObservation[] = listed.map((m, k) => {
        const p = view?.find((v) => v.name === m.name);
        return {
          name: m.name,
          host: m.host,
          // Gone between the listing and the look at its exit: absent, as the next look will say.
          container: exits[k] ? m.state : 'absent',
          exitCode: exits[k]?.code,
          finishedAt: exits[k]?.finishedAt,
          patroni: p ? { role: p.role, state: p.state, timeline: p.timeline, lag: p.lag } : undefined,
        };
      });
      const ha = view === undefined ? undefined : await haTiming(inv, i.cluster, names);
      const replaceAfterS = listed.map((m) => m.createdWith?.replaceAfterS).find((v) => v !== undefined);
      return {
        at: Date.now(), patroniAnswered: view !== undefined, members, ha,
        ...(unreachable.length > 0 ? { unreachableHosts: unreachable } : {}),
        ...(replaceAfterS !== undefined ? { replaceAfterS } : {}),
      };
    },

    /**
     * Remove a member that was replaced while its host was lost, now that the host answers again:
     * its container and data volume, and the host's front door (HAProxy, poolers, metrics) when no other
     * Postgres member of the cluster is left there. Only containers labelled with this cluster
     * and member are touched.
     */
    async fenceRetiredMember(i: { cluster: string; member: string; host: string }): Promise<FenceResult> {
      const docker = inv.engine(i.host);
      const removed: string[] = [];
      const name = containerName(i.cluster, i.member);
      const info = await inspectOrUndefined(docker, name);
      if (info && info.Config.Labels?.[LABEL_CLUSTER] === i.cluster && info.Config.Labels?.[LABEL_MEMBER] === i.member) {
        if (await removeClusterContainers(docker, i.cluster, FENCE_STOP_TIMEOUT_SEC, (l) => l[LABEL_MEMBER] === i.member && l[LABEL_ROLE] === 'postgres')) removed.push(name);
      }
      try {
        await docker.getVolume(volumeName(i.cluster, i.member)).remove();
        removed.push(volumeName(i.cluster, i.member));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      const left = (await inv.host(i.host).containers(i.cluster)).members;
      if (!left.some((m) => m.kind === 'postgres')) {
        const doors = left.filter((m) => FRONT_DOOR_ROLES.includes(m.kind)).map((m) => m.container);
        await removeClusterContainers(docker, i.cluster, FENCE_STOP_TIMEOUT_SEC, isFrontDoor);
        removed.push(...doors);
      }
      return { removed };
    },

    /**
     * Start a member container that exited, if it is still the same exit the decision saw (same
     * FinishedAt, still exited with a non-zero code). Never creates anything.
     */
    async restartMemberContainer(i: { cluster: string; member: string; finishedAt: string }): Promise<RestartResult> {
      const name = containerName(i.cluster, i.member);
      const member = await inv.member(i.cluster, i.member);
      const docker = inv.engine(member?.host);
      const info = member && (await inspectOrUndefined(docker, name));
      if (!info) return { restarted: false, reason: 'container is gone' };
      if (info.Config.Labels?.[LABEL_CLUSTER] !== i.cluster || info.Config.Labels?.[LABEL_MEMBER] !== i.member) {
        return { restarted: false, reason: 'container does not belong to this member' };
      }
      if (info.State.Status !== 'exited') return { restarted: false, reason: `container is ${info.State.Status}` };
      if (info.State.FinishedAt !== i.finishedAt) return { restarted: false, reason: 'container ran again since' };
      if (info.State.ExitCode === 0) return { restarted: false, reason: 'container was stopped cleanly' };
      try {
        await docker.getContainer(name).start();
      } catch (err) {
        // 304: started meanwhile (by Docker, an operator or a retried attempt of this activity).
        if ((err as { statusCode?: number }).statusCode === 304) return { restarted: true };
        throw err;
      }
      return { restarted: true };
    },

    /** POST /reinitialize to the member's own Patroni (it refuses on the leader and without a leader). */
    async reinitializeMember(i: { cluster: string; member: string }): Promise<ReinitializeResult> {
      const api = await memberApi(inv, i.cluster, i.member);
      if (!api) return { accepted: false, answer: 'container not running' };
      // force: cancel whatever the member is busy with (e.g. a looping recovery attempt).
      const res = await fetch(`${api}/reinitialize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...clusterAccess(paths, i.cluster).patroniHeaders },
        body: JSON.stringify({ force: true }),
        signal: AbortSignal.timeout(10_000),
      });
      const answer = (await res.text()).trim().slice(0, 200);
      return { accepted: res.status === 200, answer: answer || `HTTP ${res.status}` };
    },
  };
}
