/**
 * What the cluster watch does about a lost host, as pure code (the workflow decides, activities
 * and child workflows act), unit-tested without hosts.
 *
 * A host is lost when its engine stops answering (the snapshot's unreachableHosts). Patroni fails
 * over by itself; dbaas then:
 *  - replaces: once the host has been lost for the cluster's replace-after period (0 = never),
 *    the Postgres members that were on it are re-created elsewhere, by the ReplaceLostMembers
 *    workflow, once per loss. Which members were there comes from the last snapshot that saw the
 *    host (a lost host's containers cannot be listed): a host already lost when the watch
 *    started has no known members and is reported, not replaced;
 *  - fences: a replaced member whose host answers again is stale (the cluster has its
 *    replacement). Its container is removed as soon as it is seen, before it can do anything but
 *    follow: Patroni keeps it from taking the leader key another member holds, and the removal
 *    keeps it from staying a surplus member that still looks like the cluster's.
 */
import type { ClusterSnapshot } from './events';

/** A host known to be lost, with the Postgres members it held (the cluster watch saw them there). */
export interface LostHostHint {
  host: string;
  members: string[];
}

export interface LostHost {
  /** When the watch first saw it unreachable (the observation's clock). */
  since: number;
  /** The Postgres members it had in the last snapshot that saw it. */
  members: string[];
  /** The replacement was started for this loss (once). */
  replacing?: boolean;
  /** The loss was reported without a replacement (said once). */
  reported?: boolean;
}

export interface HostLossMemory {
  lost: Record<string, LostHost>;
  /** member → the host it was on when it was replaced: a container of it seen there again is fenced. */
  retired: Record<string, string>;
}

export const emptyHostLossMemory = (): HostLossMemory => ({ lost: {}, retired: {} });

export type HostLossAction =
  | { kind: 'replace'; host: string; members: string[]; since: number }
  | { kind: 'fence'; host: string; member: string }
  /** Nothing done; said once per loss. */
  | { kind: 'report'; host: string; reason: string };

export function decideHostLoss(
  prev: ClusterSnapshot | undefined, cur: ClusterSnapshot, memory: HostLossMemory, replaceAfterS: number,
): { actions: HostLossAction[]; memory: HostLossMemory } {
  const actions: HostLossAction[] = [];
  const lost: Record<string, LostHost> = {};
  const down = cur.unreachableHosts ?? [];
  for (const host of down) {
    // The last snapshot that saw the host says what it held; none did when the watch started while it was lost.
    const unseen = prev === undefined || (prev.unreachableHosts ?? []).includes(host);
    const entry: LostHost = memory.lost[host] ?? {
      since: cur.at,
      members: unseen ? [] : (prev?.members ?? []).filter((m) => m.host === host).map((m) => m.name),
      ...(unseen ? { reported: true } : {}),
    };
    lost[host] = { ...entry };
    if (!memory.lost[host] && unseen) {
      actions.push({ kind: 'report', host, reason: `host ${host} was already lost when the watch started: which of the cluster's members it held is unknown, none is re-created` });
    }
    // Nothing of this cluster was seen there, or already decided for this loss.
    if (entry.replacing || entry.reported || entry.members.length === 0) continue;
    if (replaceAfterS === 0) {
      lost[host].reported = true;
      actions.push({ kind: 'report', host, reason: `host ${host} is lost with ${entry.members.join(', ')}; replace-after is 0: not re-created` });
      continue;
    }
    if (cur.at - entry.since >= replaceAfterS * 1000) {
      lost[host].replacing = true;
      actions.push({ kind: 'replace', host, members: entry.members, since: entry.since });
    }
  }
  const retired = { ...memory.retired };
  for (const m of cur.members) {
    if (m.host !== undefined && retired[m.name] === m.host && !down.includes(m.host)) actions.push({ kind: 'fence', host: m.host, member: m.name });
  }
  return { actions, memory: { lost, retired } };
}

/** After a replacement: its lost members are retired (fenced when seen again). */
export function retire(memory: HostLossMemory, host: string, members: string[]): HostLossMemory {
  const retired = { ...memory.retired };
  for (const m of members) retired[m] = host;
  return { ...memory, retired };
}

/** After a fence removed the member's container: nothing of it is left to fence. */
export function fenced(memory: HostLossMemory, member: string): HostLossMemory {
  const retired = { ...memory.retired };
  delete retired[member];
  return { ...memory, retired };
}
