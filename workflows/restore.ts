/**
 * RestorePITR: a new cluster whose first member bootstraps from the source's backups (to a
 * point in time, or to the end of its archived WAL), then replicas and HAProxy as CreateCluster
 * makes them, its own stanza and a first backup. The source is only read: its repository is
 * mounted read-only in the new cluster's first member.
 */
import { defineQuery, executeChild, ParentClosePolicy, setHandler } from '@temporalio/workflow';
import type { BackupSummary } from '../common/backup';
import { workflowIds } from '../common/workflow-ids';
import { RESTORE_CLUSTER_READY_QUERY, firstBackupStep, restoreTargetProblem, restoreVersionFor, type RestoreTarget } from '../common/restore';
import { clusterNameKey } from '../common/search-attributes';
import { SpecError, validateSpec, type ClusterSpec, type ConnectionInfo } from '../common/spec';
import { quick } from './activity-options';
import { createCluster } from './createCluster';
import { refuse } from './refusals';
import { intoHasKeptVolumes } from '../common/kept-data';
import type { RepositoryRequest } from '../common/repository';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { onLeaderHost } from './leader-host';


export interface RestorePitrInput extends Omit<ClusterSpec, 'name'> {
  source: string;
  into: string;
  target: RestoreTarget;
  /** Take the new cluster's first backup (default); a restore drill's scratch cluster skips it. */
  firstBackup?: boolean;
  /** The new cluster's repository in this S3 bucket instead of a volume. */
  backupTo?: RepositoryRequest;
}

export interface RestorePitrResult {
  cluster: ConnectionInfo;
  source: string;
  target: RestoreTarget;
  firstBackup: BackupSummary | null;
}

/** The new cluster once it serves (null before): `restore` returns with it while the first backup runs. */
export const restoreClusterReadyQuery = defineQuery<ConnectionInfo | null>(RESTORE_CLUSTER_READY_QUERY);

export async function restorePitr(input: RestorePitrInput): Promise<RestorePitrResult> {
  const { source, into, target } = input;
  checkNames({ clusters: [source, into] });
  const what = target.kind === 'latest' ? 'the latest archived WAL' : target.time;
  const steps = new Steps('restore', into, [
    leaseStep(into),
    `check ${source}'s backups reach ${what} and ${into} is free`,
    `archive ${source}'s current WAL`,
    `create ${into} from ${source}'s backups (child workflow ${workflowIds.createCluster(into)})`,
    ...(input.firstBackup === false ? [] : [firstBackupStep(into)]),
  ]);
  // The new cluster's lease (its child create is granted under it); the source is only read.
  return withClusterLease(steps, into, () => restoreUnderLease(input, steps));
}

async function restoreUnderLease(input: RestorePitrInput, steps: Steps): Promise<RestorePitrResult> {
  const { source, into, target } = input;
  let ready: ConnectionInfo | null = null;
  setHandler(restoreClusterReadyQuery, () => ready);
  const what = target.kind === 'latest' ? 'the latest archived WAL' : target.time;
  const base: ClusterSpec & { backupTo?: RepositoryRequest } = {
    name: into, replicas: input.replicas, sync: input.sync, profile: input.profile, etcdMembers: input.etcdMembers,
    ...(input.backupTo ? { backupTo: input.backupTo } : {}),
  };
  const checked = await steps.run(`check ${source}'s backups reach ${what} and ${into} is free`, async () => {
    try {
      validateSpec(base);
    } catch (err) {
      if (err instanceof SpecError) refuse(err.message);
      throw err;
    }
    if (into === source) refuse('the restore target must be a new cluster, not the source itself');
    const f = await quick.clusterFootprint(into);
    if (f.containers + f.networks > 0) refuse(`cluster ${into} already exists; restore into a new name`);
    // Volumes, and an S3 repository kept from a deleted cluster of that name.
    if ((await quick.clusterVolumes(into)).length > 0) refuse(intoHasKeptVolumes(into));
    if (!(await quick.clusterHasRepository(source))) refuse(`cluster ${source} has no backup repository (unknown cluster, or made without backups: \`dbaas backup enable ${source}\` adds one)`);
    const s = await quick.backupStatus(source);
    const problem = restoreTargetProblem(target, s.backups, Date.now());
    if (problem) refuse(problem);
    // The major of the backup pgBackRest will restore: the new cluster runs it (a source upgraded in place has both).
    const chosen = restoreVersionFor(target, s.backups, s.pgVersion);
    if ('problem' in chosen) refuse(chosen.problem);
    try {
      validateSpec({ ...base, postgresVersion: chosen.version });
    } catch (err) {
      if (err instanceof SpecError) refuse(err.message);
      throw err;
    }
    // A deleted source (only its repository kept) has nothing left to archive.
    const sourceIsDeleted = (await quick.clusterFootprint(source)).containers === 0;
    if (sourceIsDeleted) return { live: false, version: chosen.version };
    const d = await quick.describeCluster(source);
    return { live: d.leader !== null, version: chosen.version };
  });
  const sourceLive = checked.live;
  const spec = { ...base, postgresVersion: checked.version };
  // The target (or "latest") may lie in WAL not yet archived: push it before restoring.
  await steps.run(`archive ${source}'s current WAL`, async () => {
    if (sourceLive) await onLeaderHost(source, (on) => on.waits.archiveCurrentWal(source));
  });
  const cluster = await steps.run(`create ${into} from ${source}'s backups (child workflow ${workflowIds.createCluster(into)})`, () =>
    executeChild(createCluster, {
      workflowId: workflowIds.createCluster(into),
      args: [{ ...spec, keepOnFailure: false, restoreFrom: { source, target } }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [{ key: clusterNameKey, value: into }],
    }),
  );
  ready = cluster;
  const firstBackup = input.firstBackup === false
    ? null
    : await steps.run(firstBackupStep(into), () => onLeaderHost(into, (on) => on.longRunning.runBackup({ cluster: into, type: 'full', before: [] })));
  return { cluster, source, target, firstBackup };
}
