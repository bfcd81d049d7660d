/** DeleteCluster: remove everything labelled with the cluster. Idempotent. */
import { ApplicationFailure, getExternalWorkflowHandle, patched } from '@temporalio/workflow';
import { haWorkflowIds, workflowIds } from '../common/workflow-ids';
import type { DeleteClusterInput } from '../common/spec';
import { cleanup, quick } from './activity-options';
import { leaseStep } from '../common/lease';
import { isRepositoryVolume } from '../common/kept-data';
import { checkNames } from './input-checks';
import { acquireLease } from './lease';
import { Steps } from './steps';
import { onLeaderHost } from './leader-host';

export interface DeleteClusterResult {
  containers: number;
  networks: number;
  volumes: number;
  /** Data volumes kept (--keep-data). */
  keptVolumes: number;
  /** The backup repository was kept (the default): `restore NAME --into NEW` works from it. */
  keptBackups: boolean;
  /** The WAL written up to the delete reached the kept backups (false: no leader answered, or nothing kept). */
  walArchived: boolean;
}

const ARCHIVE_STEP = 'archive the current WAL into the kept backups';
/** Deletes started before Prometheus replay without removing scrape targets. */
const SCRAPE_TARGETS_PATCH = 'scrape-targets';

/** The removal step's name says which volumes go. */
function removalStep(input: DeleteClusterInput): string {
  const purge = input.purgeBackups === true;
  if (input.keepData) return purge ? 'remove containers, network, backup repository (data kept)' : 'remove containers, network (data and backups kept)';
  return purge ? 'remove containers, network, volumes' : 'remove containers, network, data volumes (backups kept)';
}

function settingsStep(input: DeleteClusterInput): string {
  return `${input.keepData ? 'keep secrets (data kept)' : 'delete secrets'}, ${input.purgeBackups ? 'delete backup settings (and an S3 repository\'s stanza)' : 'keep backup settings'}`;
}

export async function deleteCluster(input: DeleteClusterInput): Promise<DeleteClusterResult> {
  const cluster = input.name;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('delete', cluster, [
    'stop the cluster watch',
    leaseStep(cluster),
    'stop a running create',
    'delete the backup schedules',
    ...(input.purgeBackups ? [] : [ARCHIVE_STEP]),
    removalStep(input),
    settingsStep(input),
    'release host ports',
    'verify nothing is left but what is kept',
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
  const purge = input.purgeBackups === true;
  // Before the members stop, so their going raises no member-down alert; again once they are
  // gone, in case the stopped watch's last publication landed after this one.
  const scrapeTargets = patched(SCRAPE_TARGETS_PATCH);
  if (scrapeTargets) await cleanup.removeScrapeTargets(cluster);
  // Before the containers go, so no scheduled backup starts on a cluster being removed.
  await steps.run('delete the backup schedules', () => cleanup.deleteClusterBackupSchedules(cluster));
  // PostgreSQL archives only completed WAL segments, also at shutdown: without a switch now, the
  // last writes would be missing from the kept backups. Best effort: a cluster with no leader
  // is still deleted, and the result says the WAL was not archived.
  const walArchived = purge ? false : await steps.run(ARCHIVE_STEP, async () => {
    if (!(await quick.clusterHasRepository(cluster)) || (await quick.clusterFootprint(cluster)).containers === 0) return false;
    try {
      await onLeaderHost(cluster, (on) => on.waits.archiveCurrentWal(cluster));
      return true;
    } catch {
      return false;
    }
  });
  const { removed, postgresVersion } = await steps.run(removalStep(input), async () => {
    // Read while the members exist: a create on the kept data must run the major it is in.
    // Patched: a delete started before this step existed replays without it.
    const postgresVersion = input.keepData && patched('delete-records-data-major') ? await quick.clusterPostgresVersion(cluster) : null;
    const removed = await cleanup.removeCluster({ cluster, keepData: input.keepData, keepBackups: !purge });
    if (scrapeTargets) await cleanup.removeScrapeTargets(cluster);
    return { removed, postgresVersion };
  });
  await steps.run(settingsStep(input), async () => {
    if (!input.keepData) await cleanup.deleteClusterSecrets(cluster);
    // Kept backups keep their settings, and the time of the delete for `cluster list --deleted`.
    if (purge) {
      // An S3 repository is no volume: its stanza goes from the bucket while its settings still say where.
      await cleanup.purgeRepositoryStanza(cluster);
      await cleanup.deleteBackupSettings(cluster);
    }
    await cleanup.recordClusterDeleted({ cluster, keeps: !purge || input.keepData, keepsData: input.keepData, at: new Date().toISOString(), postgresVersion });
  });
  await steps.run('release host ports', () => cleanup.releasePorts(cluster));
  const left = await steps.run('verify nothing is left but what is kept', async () => {
    const [f, volumes] = await Promise.all([quick.clusterFootprint(cluster), quick.clusterVolumes(cluster)]);
    const unexpected = volumes.filter((v) => (isRepositoryVolume(v) ? purge : !input.keepData));
    if (f.containers > 0 || f.networks > 0 || unexpected.length > 0) {
      throw ApplicationFailure.retryable(`cluster ${cluster} still has ${f.containers} containers, ${f.networks} networks, volumes ${unexpected.map((v) => v.name).join(', ') || 'none'}`);
    }
    return volumes;
  });
  return {
    ...removed,
    walArchived,
    keptVolumes: left.filter((v) => !isRepositoryVolume(v)).length,
    keptBackups: left.some(isRepositoryVolume),
  };
}
