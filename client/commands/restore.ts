/** `dbaas restore SOURCE --into NEW (--to-time T | --latest)`: point-in-time restore into a new cluster. */
import { isS3Request } from '../../common/repository';
import { backupStatus } from '../../activities/pgbackrest';
import { restoreWorkflowIds } from '../../common/workflow-ids';
import { resolvePaths } from '../../common/paths';
import { RESTORE_CLUSTER_READY_QUERY, firstBackupStep, restoreTargetProblem, restoreVersionFor, targetTimeProblem, type FailedReplicas, type RestoreTarget } from '../../common/restore';
import type { ConnectionInfo, ProfileName } from '../../common/spec';
import type { restorePitr, RestorePitrResult } from '../../workflows';
import { clusterState } from '../cluster-info';
import { readRepositoryInfo } from '../../activities/backup-repository';
import { intoHasKeptVolumes } from '../../common/kept-data';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import { printConnectionInfo } from './cluster';
import { followRun, followRunUntil, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';
import { formatSeconds } from '../watch';
import { repositoryRequestFrom, type S3Options } from '../s3-options';
import { discardStagedS3Credentials } from '../../activities/s3-credentials';
import { describeBackup } from './backup-run';

export interface RestoreOptions extends S3Options {
  into: string;
  toTime?: string;
  latest: boolean;
  replicas: number;
  profile: ProfileName;
  /** Follow the restore to the end of the new cluster's first backup (else it returns once the cluster serves). */
  waitForBackup: boolean;
}

export async function restoreCommand(source: string, o: RestoreOptions): Promise<void> {
  if ((o.toTime === undefined) === !o.latest) throw new UsageError('give exactly one of --to-time \'YYYY-MM-DD HH:MM:SS+00\' and --latest');
  const timeProblem = o.toTime !== undefined ? targetTimeProblem(o.toTime) : undefined;
  if (timeProblem) throw new UsageError(timeProblem);
  const target: RestoreTarget = o.toTime !== undefined ? { kind: 'time', time: o.toTime } : { kind: 'latest' };
  const inv = await connectInventory();
  const from = await clusterState(inv, source);
  if (from.state === 'unknown') throw new UsageError(`no cluster named ${source}`);
  if (from.state === 'deleted' && !from.backups) throw new UsageError(`cluster ${source} was deleted with its backups; nothing to restore from`);
  if (o.into === source) throw new UsageError('the restore target must be a new cluster, not the source itself');
  const into = await clusterState(inv, o.into);
  if (into.state === 'live') throw new UsageError(`cluster ${o.into} already exists; restore into a new name`);
  if (into.state === 'deleted') throw new UsageError(intoHasKeptVolumes(o.into));
  // A live source is read through a member, a deleted one's kept repository without one.
  const status = from.state === 'deleted' ? await readRepositoryInfo(inv.engine(), resolvePaths(), source) : await backupStatus(inv, resolvePaths(), source);
  const problem = restoreTargetProblem(target, status.backups, Date.now());
  if (problem) throw new UsageError(problem);
  // The new cluster runs the major of the backup it restores (the workflow picks it again).
  const chosen = restoreVersionFor(target, status.backups, status.pgVersion);
  if ('problem' in chosen) throw new UsageError(chosen.problem);
  // The new cluster's repository (the repository host unless --backup-to says otherwise), checked; S3 credentials staged for the worker.
  const paths = resolvePaths();
  const repository = repositoryRequestFrom(o, paths, process.env);
  const gateway = await connectGateway();
  let started = false;
  try {
    const { run: handle, startedHere: startedNow } = await startOrAttachRun<typeof restorePitr>(
      gateway, 'restorePitr', restoreWorkflowIds.restore(source, o.into), o.into,
      [{ source, into: o.into, target, replicas: o.replicas, profile: o.profile, sync: false, etcdMembers: 1, ...(repository ? { backupTo: repository } : {}) }],
      { running: `${o.into} is being restored from ${source}`, starting: `restoring ${source} (${o.toTime ?? 'latest'}) into ${o.into}` },
      async () => undefined,
    );
    started = startedNow;
    const restoredTo = `restored from ${source} to ${target.kind === 'time' ? target.time : 'the end of its archived WAL'}`;
    // The new cluster serves before its first backup is made: the command ends there, unless told
    // to wait; the workflow goes on with the backup under the new cluster's lease.
    if (!o.waitForBackup) {
      const early = await followRunUntil<RestorePitrResult>(gateway, handle, `restore into ${o.into}`, firstBackupStep(o.into));
      const cluster = early.ended ? undefined : await handle.query<ConnectionInfo | null>(RESTORE_CLUSTER_READY_QUERY).catch(() => null);
      if (!early.ended && cluster) {
        console.log(`done in ${formatSeconds(early.followedMs)}`);
        printConnectionInfo(cluster);
        console.log(`  ${restoredTo}; its first backup is running (point-in-time restore of ${o.into} from its own backups once it is made: \`dbaas backup list ${o.into}\`; later operations on ${o.into} wait for it)`);
        if (cluster.failedReplicas) printFailedReplicas(cluster.leader, cluster.failedReplicas);
        return;
      }
    }
    const r = await followRun<RestorePitrResult>(gateway, handle, `restore into ${o.into}`, new Set(o.waitForBackup ? [] : [firstBackupStep(o.into)]));
    printConnectionInfo(r.cluster);
    console.log(`  ${restoredTo}${r.firstBackup ? `; first backup ${describeBackup(r.firstBackup)}` : ''}`);
    if (r.cluster.failedReplicas) printFailedReplicas(r.cluster.leader, r.cluster.failedReplicas);
  } finally {
    if (repository && isS3Request(repository) && !started) discardStagedS3Credentials(paths, repository.credentialsRef);
    await gateway.close();
  }
}

/** The restore kept its leader although replicas failed: say which, why, and how to add them. */
function printFailedReplicas(leader: string, f: FailedReplicas): void {
  const one = f.members.length === 1;
  console.log(`  warning: ${one ? 'a replica' : `${f.members.length} replicas`} failed to join and ${one ? 'was' : 'were'} removed (the restored leader ${leader} is kept):`);
  for (const m of f.members) console.log(`    ${m.member}: ${m.reason}`);
  console.log(`  add replicas with: ${f.addCommand}`);
}
