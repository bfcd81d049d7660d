/**
 * VerifyBackup, a restore drill: restore a backup into a scratch cluster, check that it starts,
 * answers and holds the row counts recorded when the backup was taken, delete the scratch
 * cluster, and record the drill (with the restore's duration) in the cluster's event log.
 */
import { ApplicationFailure, CancellationScope, executeChild, getExternalWorkflowHandle } from '@temporalio/workflow';
import { rowCountMismatches, scratchClusterName, type VerifyBackupInput, type VerifyBackupResult } from '../common/backup';
import { haWorkflowIds, restoreWorkflowIds, workflowIds } from '../common/workflow-ids';
import { clusterNameKey } from '../common/search-attributes';
import { quick, waits } from './activity-options';
import { recordEventSignal } from './clusterWatch';
import { deleteCluster } from './deleteCluster';
import { refuse } from './refusals';
import { restorePitr } from './restore';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';

export async function verifyBackup(input: VerifyBackupInput): Promise<VerifyBackupResult> {
  const { cluster } = input;
  checkNames({ clusters: [cluster], labels: input.label === undefined ? [] : [input.label] });
  const steps = new Steps('verify-backup', cluster, [leaseStep(cluster), 'find the backup and the row counts recorded with it']);
  return withClusterLease(steps, cluster, () => verifyUnderLease(input, steps));
}

async function verifyUnderLease(input: VerifyBackupInput, steps: Steps): Promise<VerifyBackupResult> {
  const { cluster } = input;
  const { label, counts } = await steps.run('find the backup and the row counts recorded with it', async () => {
    const s = await quick.backupStatus(cluster);
    const usable = s.backups.filter((b) => !b.error);
    const chosen = input.label ? usable.find((b) => b.label === input.label) : usable[usable.length - 1];
    if (!chosen) refuse(input.label ? `cluster ${cluster} has no backup ${input.label}` : `cluster ${cluster} has no backup to verify (run \`dbaas backup run ${cluster}\` first)`);
    return { label: chosen.label, counts: await quick.recordedRowCounts({ cluster, label: chosen.label }) };
  });
  const scratch = scratchClusterName(cluster, label);
  steps.plan([
    `restore ${label} into ${scratch} (child workflow ${restoreWorkflowIds.restore(cluster, scratch)})`,
    counts ? `check ${scratch}: it answers and its row counts match` : `check ${scratch}: it answers (no counts recorded with ${label})`,
    `delete ${scratch} (child workflow ${workflowIds.deleteCluster(scratch)})`,
    'record the drill in the event log',
  ]);
  let restoreSeconds = 0;
  let result: VerifyBackupResult | undefined;
  let failure: string | undefined;
  try {
    const started = Date.now();
    const restored = await steps.run(`restore ${label} into ${scratch} (child workflow ${restoreWorkflowIds.restore(cluster, scratch)})`, () =>
      executeChild(restorePitr, {
        workflowId: restoreWorkflowIds.restore(cluster, scratch),
        // The counts' moment: the backup plus the WAL up to when the counts were taken.
        args: [{
          source: cluster, into: scratch, target: counts ? { kind: 'time', time: counts.at } : { kind: 'latest' },
          replicas: 0, profile: 'fast', sync: false, etcdMembers: 1, firstBackup: false,
        }],
        typedSearchAttributes: [{ key: clusterNameKey, value: scratch }],
      }),
    );
    restoreSeconds = Math.round((Date.now() - started) / 100) / 10;
    const checkStep = counts ? `check ${scratch}: it answers and its row counts match` : `check ${scratch}: it answers (no counts recorded with ${label})`;
    const actual = await steps.run(checkStep, () => waits.countRowsNow({ cluster: scratch, rwPort: restored.cluster.ports.rw }));
    const mismatches = counts ? rowCountMismatches(counts.tables, actual) : [];
    result = {
      cluster, label, scratchCluster: scratch, restoreSeconds, tablesChecked: Object.keys(actual).length, mismatches, countsCompared: counts !== null,
    };
    if (mismatches.length > 0) failure = `row counts differ: ${mismatches.join('; ')}`;
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    throw err;
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await steps.run(`delete ${scratch} (child workflow ${workflowIds.deleteCluster(scratch)})`, () =>
        executeChild(deleteCluster, {
          workflowId: workflowIds.deleteCluster(scratch),
          args: [{ name: scratch, keepData: false, purgeBackups: true }],
          typedSearchAttributes: [{ key: clusterNameKey, value: scratch }],
        }),
      );
      await steps.run('record the drill in the event log', async () => {
        const message = failure
          ? `restore drill of ${label} failed: ${failure}`
          : `restore drill of ${label}: restored in ${restoreSeconds} s into ${scratch}, ${result?.tablesChecked ?? 0} tables` +
            (result?.countsCompared ? ' with the row counts recorded at backup time' : ' (no counts recorded: start and reads checked)');
        try {
          await getExternalWorkflowHandle(haWorkflowIds.clusterWatch(cluster)).signal(recordEventSignal, { kind: failure ? 'restore-drill-failed' : 'restore-drill', message });
        } catch {
          // No watch running for this cluster: the workflow's result still says it.
        }
      });
    });
  }
  if (failure || !result) throw ApplicationFailure.nonRetryable(`restore drill of ${label} failed: ${failure ?? 'no result'}`, 'RestoreDrillFailed');
  return result;
}
