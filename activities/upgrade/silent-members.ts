/** stopWrites' members whose PostgreSQL did not answer: taken as stopped unless Patroni says one leads. Pure. */
import type { ClusterMember } from '../patroni-api';

/**
 * Why the silent members cannot be taken as stopped, or null: one of them leads by Patroni's
 * view (`/cluster` from a member that answers), or no member's Patroni answered, so it cannot be told.
 */
export function silentMembersProblem(cluster: string, silent: string[], view: ClusterMember[] | undefined): string | null {
  if (view === undefined) {
    return `${silent.join(', ')} of ${cluster} did not answer, and no member's Patroni could tell whether one of them leads: its writes after the stop point would reach no copy`;
  }
  const leading = view.find((m) => silent.includes(m.name) && (m.role === 'leader' || m.role === 'standby_leader'));
  return leading ? `${leading.name} of ${cluster} leads by Patroni's view but its PostgreSQL did not answer: its writes after the stop point would reach no copy` : null;
}
