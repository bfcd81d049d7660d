/**
 * Steps that exec in the cluster's leader (stanza-create, a backup, the WAL check) run on the
 * worker of the leader's host: only that worker owns its engine (Temporal's worker-specific task
 * queues). The leader can move between the look-up and the step (a failover, a switchover); the
 * host's worker then refuses it (LeaderElsewhere, final) and the step goes where the leader is now.
 */
import { ActivityFailure, ApplicationFailure, patched } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { LOCAL_HOST } from '../common/inventory';
import { onHost, quick, type HostSteps } from './activity-options';

/** Workflows that ran before the routing ran these steps on the shared queue. */
const BACKUPS_ON_HOSTS_PATCH = 'backups-on-hosts';
/** Look-ups of the leader per step: a leader that moves more often than this is not there to back up. */
const MAX_ROUTES = 3;

const movedAway = (err: unknown): boolean =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === ErrorTypes.LeaderElsewhere;

/** `step` with the activity proxies of the leader's host. */
export async function onLeaderHost<T>(cluster: string, step: (on: HostSteps) => Promise<T>): Promise<T> {
  if (!patched(BACKUPS_ON_HOSTS_PATCH)) return step(onHost(LOCAL_HOST));
  for (let route = 1; ; route++) {
    const host = await quick.leaderHost(cluster);
    try {
      return await step(onHost(host));
    } catch (err) {
      if (route >= MAX_ROUTES || !movedAway(err)) throw err;
    }
  }
}
