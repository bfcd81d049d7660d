/**
 * Whether a blue/green upgrade's new generation serves, as `upgrade finish` checks before the old
 * generation goes (workflows/upgrade/finish.ts; read by activities/upgrade/serving-state.ts). Pure.
 */

/** What serves a cluster now. */
export interface ServingState {
  /** The generation the serving record names. */
  generation: number;
  /** HAProxy's rw servers UP now, and whether each takes writes (null: its PostgreSQL did not answer). */
  rw: { member: string; takesWrites: boolean | null }[];
}

/**
 * Why `next` cannot be taken as the generation that serves, or null: the serving record names it,
 * HAProxy's rw has one server UP and it is one of `next`'s members, and that member takes writes
 * (out of recovery, default_transaction_read_only off). A rollback that failed half-way could
 * leave any of them otherwise.
 */
export function notServingProblem(s: ServingState, next: { generation: number; members: string[] }): string | null {
  if (s.generation !== next.generation) return `the serving record names generation ${s.generation}`;
  const leader = s.rw[0];
  if (s.rw.length !== 1 || !next.members.includes(leader!.member)) {
    return `HAProxy's rw has [${s.rw.map((r) => r.member).join(', ')}] UP, not one of generation ${next.generation}'s members (${next.members.join(', ')})`;
  }
  if (leader!.takesWrites === null) return `${leader!.member} (HAProxy's rw) did not answer whether it takes writes`;
  if (!leader!.takesWrites) return `${leader!.member} (HAProxy's rw) does not take writes (in recovery, or default_transaction_read_only on)`;
  return null;
}
