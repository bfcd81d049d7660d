/**
 * AddMetrics: the exporters for a cluster made before CreateCluster started them: the monitor role,
 * the poolers' stats user, a metrics container beside each HAProxy. Idempotent: on a cluster that
 * has them it only verifies them.
 */
import { CancellationScope } from '@temporalio/workflow';
import { LOCAL_HOST, type HostName } from '../common/inventory';
import { leaseStep } from '../common/lease';
import { cleanup, onHost, quick, waits } from './activity-options';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { settleAll } from './settle-all';
import { Steps } from './steps';

const MONITOR_ROLE_STEP = 'create the monitor role (pg_monitor only; the exporters log in as it)';

export interface AddMetricsResult {
  cluster: string;
  /** The hosts whose front door has a metrics container now. */
  hosts: HostName[];
  /** Those whose container this run created. */
  created: HostName[];
}

export async function addMetrics(cluster: string): Promise<AddMetricsResult> {
  checkNames({ clusters: [cluster] });
  const steps = new Steps('add-metrics', cluster, [
    leaseStep(cluster),
    'check the cluster has a leader and front doors',
    'add the monitor credential',
    MONITOR_ROLE_STEP,
    'add the monitor role to the poolers as a stats user (reload)',
    'start the metrics container beside each HAProxy',
    'probe the exporters (pg_up, pgbouncer)',
  ]);
  return withClusterLease(steps, cluster, () => addUnderLease(cluster, steps));
}

async function addUnderLease(cluster: string, steps: Steps): Promise<AddMetricsResult> {
  const { ports, leader, doors, before } = await steps.run('check the cluster has a leader and front doors', async () => {
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader; cannot create the monitor role`);
    if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
    const offers = await quick.placementHosts();
    const hosts = d.frontDoors && d.frontDoors.length > 0 ? d.frontDoors : [LOCAL_HOST];
    return {
      ports: d.ports, leader: d.leader,
      doors: hosts.map((h) => ({ host: h, address: h === LOCAL_HOST ? undefined : offers.find((o) => o.name === h)?.address })),
      before: await quick.metricsHosts(cluster),
    };
  });
  try {
    // Older secrets files have no monitor password; existing passwords are kept.
    await steps.run('add the monitor credential', () => quick.ensureClusterSecrets(cluster));
    await steps.run(MONITOR_ROLE_STEP, () => quick.ensureMonitorRole({ cluster, rwPort: ports.rw }));
    await steps.run('add the monitor role to the poolers as a stats user (reload)', () =>
      settleAll(doors.map((d) => onHost(d.host).quick.addPoolerStatsUser(cluster))));
    await steps.run('start the metrics container beside each HAProxy', () =>
      settleAll(doors.map((d) => onHost(d.host).quick.startMetrics({ cluster, ...(d.address ? { publishOn: d.address } : {}) }))));
    await steps.run('probe the exporters (pg_up, pgbouncer)', () => waits.verifyMetrics({ cluster, member: leader }));
  } catch (err) {
    steps.skipPending();
    // Nothing half-created: remove the metrics containers this run started, keep any that were there.
    await CancellationScope.nonCancellable(() =>
      steps.run('compensate: remove the metrics containers this run started', async () => {
        const now = await cleanup.metricsHosts(cluster);
        await cleanup.removeMetrics({ cluster, hosts: now.filter((h) => !before.includes(h)) });
      }),
    );
    throw err;
  }
  const hosts = await quick.metricsHosts(cluster);
  return { cluster, hosts, created: hosts.filter((h) => !before.includes(h)) };
}
