/**
 * Steps that exec in the cluster's leader (stanza-create, a backup, the WAL check) run on the
 * worker of the leader's host: only that worker owns its engine (Temporal's worker-specific task
 * queues). The leader can move between the look-up and the step (a failover, a switchover), and
 * the step then goes where the leader is now. Moved away means:
 * - the host's worker refuses it (LeaderElsewhere, final);
 * - the host's worker has no running member of the cluster left (ClusterNotFound: it sees only
 *   its own engine; the control worker's look-up says whether the cluster is really gone);
 * - no worker of the host takes the step within START_WITHIN (the host is lost; without this the
 *   step would wait in its queue for hours, holding the cluster's lease).
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure, patched } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { LOCAL_HOST } from '../common/inventory';
import { onHost, quick, type HostSteps } from './activity-options';

/** Workflows that ran before the routing ran these steps on the shared queue. */
const BACKUPS_ON_HOSTS_PATCH = 'backups-on-hosts';
/** Look-ups of the leader per step: a leader that moves more often than this is not there to back up. */
const MAX_ROUTES = 3;

/** A live host's worker takes a step within seconds; a restarted one (a service manager's restart) within this. */
const START_WITHIN = '2 minutes';

const movedAway = (err: unknown, host: string): boolean => {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.type === ErrorTypes.LeaderElsewhere || (host !== LOCAL_HOST && cause.type === ErrorTypes.ClusterNotFound);
  return host !== LOCAL_HOST && cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START';
};

/**
 * `step` with the activity proxies of the leader's host. `knownHost`: the leader's host as the
 * caller just read it (the first route goes there without a look-up of its own).
 */
export async function onLeaderHost<T>(cluster: string, step: (on: HostSteps) => Promise<T>, knownHost?: string): Promise<T> {
  if (!patched(BACKUPS_ON_HOSTS_PATCH)) return step(onHost(LOCAL_HOST));
  for (let route = 1; ; route++) {
    const host = route === 1 && knownHost !== undefined ? knownHost : await quick.leaderHost(cluster);
    try {
      return await step(onHost(host, { startWithin: START_WITHIN }));
    } catch (err) {
      if (route >= MAX_ROUTES || !movedAway(err, host)) throw err;
    }
  }
}
