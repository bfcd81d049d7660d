/** Decisions about members, as pure functions of a cluster's description (unit-tested). */

export interface MemberView {
  name: string;
  /** Patroni tag nofailover: serves reads, never promoted. */
  readOnly: boolean;
  /** Role from Patroni /cluster: leader, replica, sync_standby, ... or unknown. */
  role: string;
}

const MEMBER_RE = /^pg-(\d+)$/;

/** The next `count` names `<prefix>-N` after the highest index in use (containers or volumes). */
function nextNames(prefix: 'pg' | 'etcd', inUse: string[], count: number): string[] {
  const re = new RegExp(`^${prefix}-(\\d+)$`);
  const max = inUse.reduce((m, n) => {
    const match = re.exec(n);
    return match ? Math.max(m, Number(match[1])) : m;
  }, -1);
  return Array.from({ length: count }, (_, i) => `${prefix}-${max + 1 + i}`);
}

/** The next `count` Postgres member names (pg-N): names are never reused while data exists. */
export const nextMemberNames = (inUse: string[], count: number): string[] => nextNames('pg', inUse, count);

/** The next `count` etcd member names (etcd-N), for a member moved to another host. */
export const nextEtcdNames = (inUse: string[], count: number): string[] => nextNames('etcd', inUse, count);

/** Why `member` must not be removed, or undefined when it may be. */
export function removalProblem(members: MemberView[], member: string): string | undefined {
  const m = members.find((x) => x.name === member);
  if (!m) return `no member ${member} (members: ${members.map((x) => x.name).join(', ') || 'none'})`;
  if (m.role === 'leader') return `${member} is the leader; move the role first with \`dbaas switchover\``;
  if (!m.readOnly) {
    const canTakeOver = members.filter((x) => x.role !== 'leader' && !x.readOnly);
    if (canTakeOver.length <= 1) return `${member} is the last member able to take over from the leader`;
  }
  return undefined;
}

/** Read-only members to remove to get down to `target`: the newest first. */
export function readOnlyToRemove(members: MemberView[], target: number): string[] {
  const ro = members.filter((m) => m.readOnly && m.role !== 'leader').map((m) => m.name);
  const byIndex = (n: string): number => Number(MEMBER_RE.exec(n)?.[1] ?? -1);
  return ro.sort((a, b) => byIndex(b) - byIndex(a)).slice(0, Math.max(0, ro.length - target));
}
