/**
 * Backup: one pgBackRest backup of a cluster, run in the current leader's container. Returns
 * label, type, size, duration and WAL range. A retried step never starts a second backup.
 */
import { executeChild } from '@temporalio/workflow';
import { backupWorkflowIds } from '../common/workflow-ids';
import { clusterNameKey } from '../common/search-attributes';
import { verifyBackup } from './verifyBackup';
import { STANZA_MISSING_CODES, retentionProblem, type BackupInput, type BackupSummary } from '../common/backup';
import { longRunning, quick, waits } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';

export async function backup(input: BackupInput): Promise<BackupSummary> {
  const { cluster, type } = input;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('backup', cluster, [leaseStep(cluster), 'check the cluster and its repository']);
  // A restore drill after it (a child) is granted the lease under this workflow's.
  return withClusterLease(steps, cluster, () => backupUnderLease(input, steps));
}

async function backupUnderLease(input: BackupInput, steps: Steps): Promise<BackupSummary> {
  const { cluster, type } = input;
  const { before, stanzaMissing, leader, rwPort } = await steps.run('check the cluster and its repository', async () => {
    const problem = input.retention ? retentionProblem(input.retention) : undefined;
    if (problem) refuse(problem);
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader; a backup must see the primary`);
    if (input.fromStandby) {
      refuse(
        `--from-standby is not possible for ${cluster}: its repository is a volume shared by the members, and pgBackRest 2.45 ` +
          'backs up from a standby only when it also reaches the primary over SSH or its TLS server; run without it (the backup runs on the leader)',
      );
    }
    if (!(await quick.clusterHasRepository(cluster))) {
      refuse(`cluster ${cluster} has no backup repository (made with --no-backups, or before dbaas made them); \`dbaas backup enable ${cluster}\` adds it`);
    }
    const s = await quick.backupStatus(cluster);
    return { before: s.backups.map((b) => b.label), stanzaMissing: STANZA_MISSING_CODES.has(s.statusCode), leader: d.leader, rwPort: d.ports?.rw };
  });
  steps.plan([
    ...(stanzaMissing ? ['create the backup stanza (stanza-create, check)'] : []),
    ...(input.retention ? ['keep the retention for this cluster'] : []),
    `run the ${type} backup (on the leader, ${leader})`,
    ...(rwPort !== undefined ? ['record row counts (for restore drills)'] : []),
    ...(input.verifyAfter ? ['restore drill (child workflow)'] : []),
  ]);
  if (stanzaMissing) await steps.run('create the backup stanza (stanza-create, check)', () => waits.createStanza(cluster));
  if (input.retention) {
    const retention = input.retention;
    await steps.run('keep the retention for this cluster', () => quick.saveRetention({ cluster, retention }));
  }
  const made = await steps.run(`run the ${type} backup (on the leader, ${leader})`, () => longRunning.runBackup({ cluster, type, before }));
  if (rwPort !== undefined) {
    await steps.run('record row counts (for restore drills)', () => quick.recordRowCounts({ cluster, label: made.label, rwPort, backupStoppedAt: made.stoppedAt }));
  }
  if (input.verifyAfter) {
    await steps.run('restore drill (child workflow)', () =>
      executeChild(verifyBackup, {
        workflowId: backupWorkflowIds.verify(cluster, made.label),
        args: [{ cluster, label: made.label }],
        typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
      }),
    );
  }
  return made;
}
