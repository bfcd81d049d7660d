/**
 * A front door on an added host, opened once the members behind it serve: HAProxy (rw, ro,
 * stats), the two PgBouncers published on the host's address and, when the cluster's other doors
 * have one, a metrics container (after the poolers; a door whose metrics container does not start
 * still opens, and says why), run by that host's worker,
 * then that HAProxy's own stats show the leader UP in rw and every replica in ro before a client
 * is sent there (`connect` names every front door that runs). A drain and a lost host's
 * replacement open one where a member arrives; a create opens its first ones while the replicas
 * clone, and waits for them with the rest.
 *
 * The door's poolers start with the pool sizes for the max_connections the leader runs
 * (common/pool-sizes.ts, as resizePoolers gives the other doors'), not the default 100's: a door
 * opens beside a running cluster, whose size may allow fewer server connections.
 */
import { isCancellation, log, patched } from '@temporalio/workflow';
import { innermostMessage } from '../common/error-chain';
import type { HostName } from '../common/inventory';
import { oneLine } from '../common/metrics-state';
import type { PoolSizes } from '../common/pool-sizes';
import type { ClusterPorts, ProfileName } from '../common/spec';
import { onHost, quick } from './activity-options';
import { settleAll } from './settle-all';

/** Doors opened in histories from before the metrics container get none. */
const FRONT_DOOR_METRICS_PATCH = 'front-door-metrics';
/** Doors opened in histories from before this start their poolers with the default sizes. */
const FRONT_DOOR_POOLS_PATCH = 'front-door-pool-sizes';
/**
 * Histories from before started the metrics container beside the poolers, and a failure of it
 * failed the door (and the drain or replacement that opened it).
 */
const METRICS_AFTER_POOLERS_PATCH = 'front-door-metrics-after-poolers-non-fatal';

export interface FrontDoorInput {
  cluster: string;
  /** Every Postgres member of the cluster once the door opens (HAProxy's backends). */
  members: string[];
  profile: ProfileName;
  ports: ClusterPorts;
  /** The host's address (none for this machine, where the ports stay on 127.0.0.1). */
  publishOn?: string;
}

export interface FrontDoorOpened {
  /** Only when its metrics container did not start: why (the door serves without it; `cluster add-metrics` adds it). */
  metricsProblem?: string;
}

export async function openFrontDoor(host: HostName, i: FrontDoorInput): Promise<FrontDoorOpened> {
  const on = onHost(host);
  const publishing = i.publishOn ? { publishOn: i.publishOn } : {};
  // Read before this door's containers exist: the cluster's metrics are on if another door has them.
  const metrics = patched(FRONT_DOOR_METRICS_PATCH) && (await quick.metricsHosts(i.cluster)).length > 0;
  const pool = patched(FRONT_DOOR_POOLS_PATCH) ? await poolsNow(i.cluster) : undefined;
  const afterPoolers = patched(METRICS_AFTER_POOLERS_PATCH);
  const front = [
    on.quick.startHaproxy({ cluster: i.cluster, members: i.members, profile: i.profile, ports: i.ports, ...publishing }),
    ...(['rw', 'ro'] as const).map((kind) => on.quick.startPgbouncer({ cluster: i.cluster, kind, ports: i.ports, ...publishing, ...(pool ? { pool } : {}) })),
  ];
  let metricsProblem: string | undefined;
  if (!afterPoolers) {
    await settleAll([...front, ...(metrics ? [on.quick.startMetrics({ cluster: i.cluster, ...publishing })] : [])]);
  } else {
    await settleAll(front);
    // After the poolers: it probes them by the alias they were made with. Not part of serving.
    if (metrics) metricsProblem = await startDoorMetrics(host, i.cluster, publishing);
  }
  await on.waits.waitForHaproxyBackends({ cluster: i.cluster, statsPort: i.ports.stats, replicas: i.members.length - 1 });
  return metricsProblem !== undefined ? { metricsProblem } : {};
}

/** The door's metrics container, or why it did not start (what it left is removed). */
async function startDoorMetrics(host: HostName, cluster: string, publishing: { publishOn?: string }): Promise<string | undefined> {
  const on = onHost(host);
  try {
    await on.quick.startMetrics({ cluster, ...publishing });
    return undefined;
  } catch (err) {
    if (isCancellation(err)) throw err;
    await on.cleanup.removeMetrics({ cluster, hosts: [host] });
    return oneLine(innermostMessage(err));
  }
}

/**
 * The pools for what the leader runs now; undefined (the default sizes) when they cannot be read:
 * the door matters more than its pool sizes, and the next resize, restart or `config set` of
 * max_connections re-sizes them.
 */
async function poolsNow(cluster: string): Promise<PoolSizes | undefined> {
  try {
    return (await quick.poolerSizes(cluster)).pool;
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('pooler sizes not read: the door\'s poolers start with the default sizes', { cluster, error: innermostMessage(err) });
    return undefined;
  }
}
