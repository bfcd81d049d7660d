/**
 * Backup: one pgBackRest backup of a cluster, run on the repository host (or, for a volume or S3
 * repository, in the current leader's container), reading the data files from a standby when one
 * can serve them (its pgBackRest TLS server). Returns label, type, size, duration and WAL range.
 * A retried step never starts a second backup.
 */
import { executeChild } from '@temporalio/workflow';
import { backupWorkflowIds } from '../common/workflow-ids';
import { clusterNameKey } from '../common/search-attributes';
import { verifyBackup } from './verifyBackup';
import { STANZA_MISSING_CODES, retentionProblem, type BackupInput, type BackupSummary } from '../common/backup';
import { describesRepositoryHost } from '../common/repository';
import { quick } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { onLeaderHost } from './leader-host';

export async function backup(input: BackupInput): Promise<BackupSummary> {
  const { cluster, type } = input;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('backup', cluster, [leaseStep(cluster), 'check the cluster and its repository']);
  // A restore drill after it (a child) is granted the lease under this workflow's.
  return withClusterLease(steps, cluster, () => backupUnderLease(input, steps));
}

async function backupUnderLease(input: BackupInput, steps: Steps): Promise<BackupSummary> {
  const { cluster, type } = input;
  const { before, stanzaMissing, leader, rwPort, standby, onHost } = await steps.run('check the cluster and its repository', async () => {
    const problem = input.retention ? retentionProblem(input.retention) : undefined;
    if (problem) refuse(problem);
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader; a backup must see the primary`);
    if (input.fromStandby && input.fromPrimary) refuse('--from-standby and --from-primary contradict each other');
    if (!(await quick.clusterHasRepository(cluster))) {
      refuse(`cluster ${cluster} has no backup repository (made with --no-backups, or before dbaas made them); \`dbaas backup enable ${cluster}\` adds it`);
    }
    // From a standby when one can serve (the default); the leader only starts and stops it.
    const standby = input.fromPrimary ? null : await quick.backupStandby(cluster);
    if (input.fromStandby && standby === null) {
      refuse(`no replica of ${cluster} can serve a backup now: one must be running and streaming, and made by a dbaas that runs pgBackRest's TLS server in members (clusters with TLS)`);
    }
    const s = await quick.backupStatus(cluster);
    return { before: s.backups.map((b) => b.label), stanzaMissing: STANZA_MISSING_CODES.has(s.statusCode), leader: d.leader, rwPort: d.ports?.rw, standby, onHost: describesRepositoryHost(s.repository) };
  });
  // On the repository host the backup runs there; the leader only starts and stops it.
  const runStep = onHost
    ? `run the ${type} backup (on the repository host, data files from ${standby ?? `the leader ${leader}`})`
    : standby ? `run the ${type} backup (on the leader ${leader}, data files from ${standby})` : `run the ${type} backup (on the leader, ${leader})`;
  steps.plan([
    ...(stanzaMissing ? ['create the backup stanza (stanza-create, check)'] : []),
    ...(input.retention ? ['keep the retention for this cluster'] : []),
    runStep,
    ...(rwPort !== undefined ? ['record row counts (for restore drills)'] : []),
    ...(input.verifyAfter ? ['restore drill (child workflow)'] : []),
  ]);
  if (stanzaMissing) await steps.run('create the backup stanza (stanza-create, check)', () => onLeaderHost(cluster, (on) => on.waits.createStanza(cluster)));
  if (input.retention) {
    const retention = input.retention;
    await steps.run('keep the retention for this cluster', () => quick.saveRetention({ cluster, retention }));
  }
  const made = await steps.run(runStep, () => onLeaderHost(cluster, (on) => on.longRunning.runBackup({ cluster, type, before, ...(standby ? { standby } : {}) })));
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
