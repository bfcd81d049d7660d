/**
 * HAProxy's servers as its runtime API reports them (`show servers state`), and the runtime
 * commands that move the rw and ro backends from one set of members to another. Pure.
 */

/** One server's line of `show servers state`: backend, server and its administrative state bits. */
export interface ServerState {
  backend: string;
  server: string;
  adminState: number;
}

/** Parse the runtime API's `show servers state` (format version 1: a version line, a # header, rows). */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const header = lines.find((l) => l.startsWith('#'))?.replace(/^#\s*/, '').split(/\s+/) ?? [];
  const [be, sv, adm] = [header.indexOf('be_name'), header.indexOf('srv_name'), header.indexOf('srv_admin_state')];
  if (be < 0 || sv < 0 || adm < 0) return [];
  return lines
    .filter((l) => !l.startsWith('#') && /\s/.test(l))
    .map((l) => l.split(/\s+/))
    .map((c) => ({ backend: c[be], server: c[sv], adminState: Number(c[adm]) }));
}

/**
 * HAProxy's SRV_ADMF_FMAINT: forced maintenance (the config's `disabled` sets it together with
 * CMAINT; `set server … state ready` clears FMAINT but leaves CMAINT, so CMAINT alone means "in
 * service", as seen on 2.6.12).
 */
const FORCED_MAINTENANCE = 0x01;

const inForcedMaintenance = (r: ServerState): boolean => (r.adminState & FORCED_MAINTENANCE) !== 0;

/**
 * The member is in service on rw: out of forced maintenance, so clients may have reached it and
 * written. serveMembers brings a new leader there only with its last command line.
 */
export const servesOnRw = (member: string, running: ServerState[]): boolean =>
  running.some((r) => r.backend === 'rw' && r.server === member && !inForcedMaintenance(r));

/** The rows of the rw and ro backends (the stats frontend has none). */
const memberRows = (running: ServerState[]): ServerState[] => running.filter((r) => r.backend === 'rw' || r.backend === 'ro');

/** The member servers the running HAProxy has, sorted and joined: what a reload is waited on by. */
export const loadedServers = (running: ServerState[]): string => [...new Set(memberRows(running).map((r) => r.server))].sort().join(',');

/**
 * Members to render `disabled`: those the running HAProxy does not know yet (just added, still
 * cloning) and those it holds in forced maintenance (added, not yet put in service). Members
 * DOWN for other reasons (a failed check, DNS) stay enabled so their checks keep running.
 */
export function membersOutOfService(members: string[], running: ServerState[]): string[] {
  return members.filter((m) => {
    const rows = memberRows(running).filter((r) => r.server === m);
    return rows.length === 0 || rows.some(inForcedMaintenance);
  });
}

/**
 * The servers the running HAProxy has and `members` leaves out, each put in maintenance (no new
 * session goes there; its checks stop) and its sessions shut. Sent to the worker serving now,
 * before the reload: after it the admin socket reaches the new worker only, and the old one would
 * keep those sessions (stale reads from members no longer fed, writes on a leader no longer
 * serving) for as long as their clients hold them.
 */
export function endSessionsCommands(members: string[], running: ServerState[]): string[] {
  return memberRows(running)
    .filter((r) => !members.includes(r.server))
    .flatMap((r) => [`set server ${r.backend}/${r.server} state maint`, `shutdown sessions server ${r.backend}/${r.server}`]);
}

/** What puts the members in service once the running HAProxy has them, in three command lines sent in this order. */
export interface ServeCommands {
  /**
   * ro but the leader: a member that just answered 200 on Patroni's /replica is set ready (leaving
   * maintenance, a server counts as UP at once; its check goes on); the others are set ready with
   * their health DOWN, for their own check to bring up.
   */
  ro: string[];
  /**
   * rw but the leader: ready with health DOWN; only a /primary answer (a failover) brings one up.
   * Between the two commands such a server counts as UP for an instant: a replica, which takes no
   * writes.
   */
  rw: string[];
  /**
   * The leader: on ro ready with health DOWN (it counts as UP for the instant between the two, and
   * the ro port does not stop a write), then UP on rw: the last effect of a move. Before this line
   * no client reaches the leader, so the members that served before can still be put back; after
   * it writes may land on the leader.
   */
  leader: string[];
}

/**
 * Only servers in forced maintenance (as a reload brings new ones) are touched, but the leader's
 * rw server: a retried move leaves alone what an earlier attempt put in service, and ends the
 * same way. `health down` does not stick while a server is in maintenance, so it follows `ready`.
 */
export function serveCommands(i: { members: string[]; leader: string; running: ServerState[]; replicas: string[] }): ServeCommands {
  const forced = (backend: string, m: string): boolean => i.running.some((r) => r.backend === backend && r.server === m && inForcedMaintenance(r));
  const readyDown = (backend: string, m: string): string[] => [`set server ${backend}/${m} state ready`, `set server ${backend}/${m} health down`];
  const others = i.members.filter((m) => m !== i.leader);
  return {
    ro: others.filter((m) => forced('ro', m)).flatMap((m) => (i.replicas.includes(m) ? [`set server ro/${m} state ready`] : readyDown('ro', m))),
    rw: others.filter((m) => forced('rw', m)).flatMap((m) => readyDown('rw', m)),
    leader: [...(forced('ro', i.leader) ? readyDown('ro', i.leader) : []), `set server rw/${i.leader} state ready`, `set server rw/${i.leader} health up`],
  };
}

/**
 * The runtime API's answer to commands that print nothing when they succeed (`set server`,
 * `shutdown sessions`): each command's output ends with an empty line, so any text left is a
 * failure ("No such server." from a process that has no such server).
 */
export function commandFailures(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}
