/**
 * When the cluster watch publishes the cluster's scrape targets (activities/scrape-targets.ts).
 * Pure: the watch imports it.
 */
import type { ClusterSnapshot } from './events';

/**
 * What of a snapshot decides the target file: the members, their hosts, whether they run, and
 * their last exit (a restart between two polls may give a member another address).
 */
export function scrapeTargetsKey(s: ClusterSnapshot): string {
  return s.members.map((m) => `${m.name}@${m.host ?? ''} ${m.container} ${m.finishedAt ?? ''}`).sort().join('\n');
}

/**
 * Polls after which the watch publishes again though the key did not change: catches what a
 * snapshot does not show (the exporters' container added to the cluster, an address changed
 * without a restart) within minutes (a poll every 1 to 5 s).
 */
export const SCRAPE_REFRESH_POLLS = 60;
