/** `dbaas backup run|list`: pgBackRest backups of a cluster. */
import { REPOSITORY_HOST_TARGET, isS3Request } from '../../common/repository';
import type { Inventory } from '../../activities/hosts/inventory';
import { readRepositoryLocation } from '../../activities/backup-settings';
import type { BackupType, EnableBackupsResult, StanzaSummary, VerifyBackupResult } from '../../common/backup';
import { describeBackup } from './backup-run';
import { backupWorkflowIds } from '../../common/workflow-ids';
import { resolvePaths } from '../../common/paths';
import { backupStatus, clusterHasRepository } from '../../activities/pgbackrest';
import type { backup, enableBackups, verifyBackup } from '../../workflows';
import { clusterState, clusterStatus, requireLiveCluster } from '../cluster-info';
import { repositoryRequestFrom, type S3Options } from '../s3-options';
import { discardStagedS3Credentials } from '../../activities/s3-credentials';
import { readRepositoryInfo } from '../../activities/backup-repository';
import { connectInventory, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';
import { table } from '../table';
import type { Client } from '@temporalio/client';
import { cronProblem } from '../../common/cron';
import type { BackupScheduleView } from '../../common/schedules';
import { ScheduleSpecRefused, listBackupSchedules, upsertBackupSchedule } from '../../activities/schedules';

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The inventory, once the cluster is live and has a repository; otherwise one line (exit 2). */
async function requireRepository(cluster: string): Promise<Inventory> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  if (!(await clusterHasRepository(inv, resolvePaths(), cluster))) {
    throw new UsageError(`cluster ${cluster} has no backup repository (made with --no-backups, or before dbaas made them); \`dbaas backup enable ${cluster}\` adds it`);
  }
  return inv;
}

/** What `pgbackrest info` says of a live cluster's repository (see requireRepository). */
const repositoryStatus = async (cluster: string): Promise<StanzaSummary> => backupStatus(await requireRepository(cluster), resolvePaths(), cluster);

export async function backupEnableCommand(cluster: string, o: S3Options): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const paths = resolvePaths();
  const status = await clusterStatus(inv, paths, cluster);
  const hasRepository = status.backups !== 'off';
  if (o.backupTo !== undefined && hasRepository) {
    // Moving a volume repository onto the repository host (or finishing such a move) is the one move there is.
    const kind = readRepositoryLocation(paths, cluster).type;
    if (o.backupTo !== REPOSITORY_HOST_TARGET || kind === 's3') {
      throw new UsageError(`cluster ${cluster} already has a backup repository; --backup-to gives one only to a cluster without, or moves a volume repository onto the repository host (\`backup migrate ${cluster}\`)`);
    }
  }
  // Checked before anything starts; S3 credentials are staged for the worker (never in Temporal).
  // A cluster without a repository gets one on the repository host unless --backup-to says otherwise.
  const repository = repositoryRequestFrom(o, paths, process.env, !hasRepository);
  const gateway = await connectGateway();
  let started = false;
  try {
    const { run: handle, startedHere: startedNow } = await startOrAttachRun<typeof enableBackups>(
      gateway, 'enableBackups', backupWorkflowIds.enable(cluster), cluster, [{ cluster, ...(repository ? { backupTo: repository } : {}) }],
      { running: `backups are being enabled for ${cluster}`, starting: `enabling backups for ${cluster}` },
      async () => undefined,
    );
    started = startedNow;
    const r = await followRun<EnableBackupsResult>(gateway, handle, `enable backups for ${cluster}`);
    if (r.moved) {
      console.log(`cluster ${cluster} now keeps its backups on the repository host: ${r.moved.backups} backups moved from volume ${r.moved.volume} (removed); re-created ${r.recreated.join(', ') || 'nothing'}; leader ${r.leader}`);
      return;
    }
    console.log(r.recreated.length === 0
      ? `cluster ${cluster} already had its backup repository; stanza checked (leader ${r.leader})`
      : `cluster ${cluster} now archives WAL into its repository: re-created ${r.recreated.join(', ')}; leader ${r.leader}. Next: \`dbaas backup run ${cluster}\``);
  } finally {
    if (repository && isS3Request(repository) && !started) discardStagedS3Credentials(paths, repository.credentialsRef);
    await gateway.close();
  }
}

export async function backupListCommand(cluster: string, o: { json: boolean }): Promise<void> {
  const inv = await connectInventory();
  const state = await clusterState(inv, cluster);
  // A deleted cluster's kept repository is read without a member (a one-shot reader).
  const deleted = state.state === 'deleted' && state.backups;
  const status = deleted ? await readRepositoryInfo(inv.engine(), resolvePaths(), cluster) : await repositoryStatus(cluster);
  if (o.json) {
    console.log(JSON.stringify(status, null, 2));
    return;
  }
  if (deleted) console.log(`cluster ${cluster} was deleted; its backups are kept (\`dbaas restore ${cluster} --into NEW --latest\` restores them)`);
  console.log(`stanza ${status.stanza}: ${status.status}${status.backupRunning ? ` (a backup is running${status.progress ? `, ${status.progress}` : ''})` : ''}` +
    (status.archiveMax ? `; WAL archived ${status.archiveMin} … ${status.archiveMax}` : '') +
    (status.cipher === 'none' ? '; not encrypted' : `; encrypted (${status.cipher})`));
  if (status.repository) console.log(`repository: ${status.repository}`);
  if (status.backups.length === 0) return;
  const t = table(['label', 'type', 'started (UTC)', 'duration', 'data', 'repository', 'WAL start', 'WAL stop', 'based on']);
  for (const b of status.backups) {
    t.push([b.label, b.type, b.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), `${b.durationS} s`, mb(b.databaseBytes), mb(b.repositoryBytes), b.walStart, b.walStop, b.prior ?? '']);
  }
  console.log(t.toString());
}

/** The one schedule a command means: --type, or the cluster's only schedule. */
async function pickSchedule(client: Client, cluster: string, type: BackupType | undefined): Promise<BackupScheduleView> {
  const all = await listBackupSchedules(client, cluster);
  const chosen = type ? all.filter((v) => v.type === type) : all;
  if (chosen.length === 0) throw new UsageError(`cluster ${cluster} has no ${type ? `${type} ` : ''}backup schedule`);
  if (chosen.length > 1) throw new UsageError(`cluster ${cluster} has ${chosen.length} backup schedules (${chosen.map((v) => v.type).join(', ')}); say which with --type`);
  return chosen[0];
}

async function withClusterAndTemporal<T>(cluster: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const { client, connection } = await connectTemporal();
  try {
    return await fn(client);
  } finally {
    await connection.close();
  }
}

export async function scheduleCreateCommand(cluster: string, o: { cron?: string; type: BackupType; verify: boolean }): Promise<void> {
  if (o.cron === undefined) throw new UsageError('backup schedule NAME needs --cron "MIN HOUR DOM MON DOW" (or a subcommand: list, pause, resume, trigger, delete)');
  const problem = cronProblem(o.cron);
  if (problem) throw new UsageError(problem);
  // One spelling per cron, so "0  3 * * *" finds the schedule made with "0 3 * * *" unchanged.
  const cron = o.cron.trim().split(/\s+/).join(' ');
  // Every scheduled backup would be refused: say so now.
  await requireRepository(cluster);
  await withClusterAndTemporal(cluster, async (client) => {
    let outcome: string;
    try {
      outcome = await upsertBackupSchedule(client, cluster, o.type, cron, o.verify);
    } catch (err) {
      // The server reads the cron too; its refusal changed nothing (an existing schedule is updated in place).
      if (err instanceof ScheduleSpecRefused) throw new UsageError(`--cron "${cron}" was refused by the Temporal server: ${err.message}`);
      throw err;
    }
    const v = await pickSchedule(client, cluster, o.type);
    console.log(`${v.id} ${outcome}: ${o.type} backup of ${cluster} at "${cron}" (UTC)${o.verify ? ', each followed by a restore drill' : ''}, overlap: skip; next ${v.nextRuns[0] ?? '-'}`);
  });
}

export async function scheduleListCommand(cluster: string, o: { json: boolean }): Promise<void> {
  await withClusterAndTemporal(cluster, async (client) => {
    const all = await listBackupSchedules(client, cluster);
    if (o.json) {
      console.log(JSON.stringify(all, null, 2));
      return;
    }
    if (all.length === 0) {
      console.log(`cluster ${cluster} has no backup schedule`);
      return;
    }
    const t = table(['schedule', 'type', 'cron (UTC)', 'state', 'next run', 'last run']);
    for (const v of all) {
      const last = v.recentRuns[v.recentRuns.length - 1];
      t.push([v.id, v.type, v.cron, v.paused ? `paused${v.note ? ` (${v.note})` : ''}` : 'active', v.nextRuns[0] ?? '-', last ? `${last.scheduledAt} ${last.workflowId}` : '-']);
    }
    console.log(t.toString());
  });
}

type ScheduleAction = 'pause' | 'resume' | 'trigger' | 'delete';

export async function scheduleActionCommand(action: ScheduleAction, cluster: string, o: { type?: BackupType }): Promise<void> {
  await withClusterAndTemporal(cluster, async (client) => {
    const v = await pickSchedule(client, cluster, o.type);
    const h = client.schedule.getHandle(v.id);
    if (action === 'pause') await h.pause('paused with dbaas backup schedule pause');
    else if (action === 'resume') await h.unpause('resumed with dbaas backup schedule resume');
    else if (action === 'trigger') await h.trigger();
    else await h.delete();
    const said = { pause: 'paused', resume: 'resumed', trigger: 'triggered: a backup workflow starts now (see `dbaas backup list`)', delete: 'deleted' }[action];
    console.log(`${v.id} ${said}`);
  });
}

export async function backupVerifyCommand(cluster: string, o: { label?: string }): Promise<void> {
  const status = await repositoryStatus(cluster);
  const usable = status.backups.filter((x) => !x.error);
  const chosen = o.label ? usable.find((x) => x.label === o.label) : usable[usable.length - 1];
  if (!chosen) throw new UsageError(o.label ? `cluster ${cluster} has no backup ${o.label}` : `cluster ${cluster} has no backup to verify (run \`dbaas backup run ${cluster}\` first)`);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof verifyBackup>(
      gateway, 'verifyBackup', backupWorkflowIds.verify(cluster, chosen.label), cluster, [{ cluster, label: chosen.label }],
      { running: `backup ${chosen.label} of ${cluster} is being verified`, starting: `restore drill of ${cluster}'s backup ${chosen.label}` },
      async () => undefined,
    );
    const r = await followRun<VerifyBackupResult>(gateway, handle, `restore drill of ${chosen.label}`);
    console.log(`backup ${r.label} of ${r.cluster} verified: restored in ${r.restoreSeconds} s, ${r.tablesChecked} table${r.tablesChecked === 1 ? '' : 's'}` +
      (r.countsCompared ? ', row counts match those recorded at backup time' : ' (no counts were recorded with this backup: it started and answered reads)'));
  } finally {
    await gateway.close();
  }
}
