/** DeleteCluster: remove everything labelled with the cluster. Idempotent. */
import { ApplicationFailure, getExternalWorkflowHandle } from '@temporalio/workflow';
import { haWorkflowIds, workflowIds } from '../common/workflow-ids';
import type { DeleteClusterInput } from '../common/spec';
import { cleanup, quick } from './activity-options';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { acquireLease } from './lease';
import { Steps } from './steps';

export interface DeleteClusterResult {
  containers: number;
  networks: number;
  volumes: number;
  keptVolumes: number;
}

export async function deleteCluster(input: DeleteClusterInput): Promise<DeleteClusterResult> {
  const cluster = input.name;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('delete', cluster, [
    'stop the cluster watch',
    leaseStep(cluster),
    'stop a running create',
    'delete the backup schedules',
    'remove containers, network' + (input.keepData ? '' : ', volumes'),
    input.keepData ? 'keep secrets (data kept)' : 'delete secrets and backup settings',
    'release host ports',
    'verify nothing is left',
  ]);
  // First, so the watch never "heals" a member this delete is removing (see common/healing.ts).
  await steps.run('stop the cluster watch', async () => {
    try {
      await getExternalWorkflowHandle(haWorkflowIds.clusterWatch(cluster)).cancel();
    } catch {
      // No watch running (never started, or already ended): nothing to stop.
    }
  });
  // A delete goes first: the queued operations are refused, the running one ends (with its
  // compensation) before anything is removed. A create is cancelled rather than waited for.
  const [lease] = await Promise.all([
    steps.run(leaseStep(cluster), () => acquireLease(cluster, steps.operation, { preempt: true })),
    steps.run('stop a running create', async () => {
      try {
        await getExternalWorkflowHandle(workflowIds.createCluster(cluster)).cancel();
      } catch {
        // Not running (the usual case): nothing to stop.
      }
    }),
  ]);
  try {
    return await removeUnderLease(input, steps);
  } finally {
    await lease.release();
  }
}

async function removeUnderLease(input: DeleteClusterInput, steps: Steps): Promise<DeleteClusterResult> {
  const cluster = input.name;
  // Before the containers go, so no scheduled backup starts on a cluster being removed.
  await steps.run('delete the backup schedules', () => cleanup.deleteClusterBackupSchedules(cluster));
  const removed = await steps.run('remove containers, network' + (input.keepData ? '' : ', volumes'), () =>
    cleanup.removeCluster({ cluster, keepData: input.keepData }),
  );
  if (input.keepData) {
    await steps.run('keep secrets (data kept)', async () => undefined);
  } else {
    await steps.run('delete secrets and backup settings', async () => {
      await cleanup.deleteClusterSecrets(cluster);
      await cleanup.deleteBackupSettings(cluster);
    });
  }
  await steps.run('release host ports', () => cleanup.releasePorts(cluster));
  const left = await steps.run('verify nothing is left', async () => {
    const f = await quick.clusterFootprint(cluster);
    if (f.containers > 0 || f.networks > 0 || (!input.keepData && f.volumes > 0)) {
      throw ApplicationFailure.retryable(`cluster ${cluster} still has ${f.containers} containers, ${f.networks} networks, ${f.volumes} volumes`);
    }
    return f;
  });
  return { ...removed, keptVolumes: input.keepData ? left.volumes : 0 };
}
