/**
 * AddPoolers: the pooled endpoints (PgBouncer rw and ro, auth_query) for a cluster made before
 * CreateCluster started them. Idempotent: on a cluster that has them it only verifies them.
 */
import { settleAll } from './settle-all';
import { CancellationScope, patched } from '@temporalio/workflow';
import { cleanup, quick, waits } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { POOLER_AUTH_STEP } from './step-names';
import type { ClusterPorts } from '../common/spec';

/** Runs from before started the poolers with the default pool sizes. */
const ADD_POOLERS_SIZED_PATCH = 'add-poolers-pool-sizes';

export interface AddPoolersResult {
  cluster: string;
  ports: ClusterPorts;
  /** Pooler containers this run created (empty when the cluster already had both). */
  created: string[];
}

export async function addPoolers(cluster: string): Promise<AddPoolersResult> {
  checkNames({ clusters: [cluster] });
  const steps = new Steps('add-poolers', cluster, [
    leaseStep(cluster),
    'check the cluster has a leader and endpoints',
    'add the pooler credential',
    POOLER_AUTH_STEP,
    'start pgbouncer (rw, ro)',
    'query through the pooled endpoints',
  ]);
  return withClusterLease(steps, cluster, () => addUnderLease(cluster, steps));
}

async function addUnderLease(cluster: string, steps: Steps): Promise<AddPoolersResult> {
  const { ports, withReplicas, before } = await steps.run('check the cluster has a leader and endpoints', async () => {
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader; cannot create the pooler's lookup function`);
    if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
    return { ports: d.ports, withReplicas: d.members.some((m) => m.name !== d.leader), before: await quick.poolerContainers(cluster) };
  });
  try {
    // Older secrets files have no pooler password; existing passwords are kept.
    await steps.run('add the pooler credential', () => quick.ensureClusterSecrets(cluster));
    await steps.run(POOLER_AUTH_STEP, () => quick.ensurePoolerAuth({ cluster, rwPort: ports.rw }));
    await steps.run('start pgbouncer (rw, ro)', async () => {
      // Pools sized for the max_connections the leader runs (common/pool-sizes.ts), not the defaults.
      const pool = patched(ADD_POOLERS_SIZED_PATCH) ? (await quick.poolerSizes(cluster)).pool : undefined;
      await settleAll((['rw', 'ro'] as const).map((kind) => quick.startPgbouncer({ cluster, kind, ports, ...(pool ? { pool } : {}) })));
    });
    await steps.run('query through the pooled endpoints', () => waits.verifyPooledEndpoints({ cluster, ports, withReplicas }));
  } catch (err) {
    steps.skipPending();
    // Nothing half-created: remove the poolers this run started, keep any that were there.
    await CancellationScope.nonCancellable(() =>
      steps.run('compensate: remove the poolers this run started', async () => {
        const now = await cleanup.poolerContainers(cluster);
        await cleanup.removePoolers({ cluster, members: now.filter((m) => !before.includes(m)) });
      }),
    );
    throw err;
  }
  const after = await quick.poolerContainers(cluster);
  return { cluster, ports, created: after.filter((m) => !before.includes(m)) };
}
