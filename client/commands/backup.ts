/** `dbaas backup run|list`: pgBackRest backups of a cluster. */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { isBackupType, retentionProblem, type BackupSummary, type BackupType } from '../../common/backup';
import { backupWorkflowIds } from '../../common/names';
import { resolvePaths } from '../../common/paths';
import { createPgbackrestActivities } from '../../activities/pgbackrest';
import type { backup } from '../../workflows';
import { parseClusterName } from '../args';
import { clusterNames } from '../cluster-info';
import { connectDocker, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { follow, startOrAttach } from './cluster';

function parseType(v: string): BackupType {
  if (!isBackupType(v)) throw new UsageError(`--type must be full, diff or incr, got "${v}"`);
  return v;
}

function parseRetention(flag: string): (v: string) => number {
  return (v: string) => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    const problem = retentionProblem({ [flag]: n });
    if (problem) throw new UsageError(problem.replace('NaN', `"${v}"`));
    return n;
  };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function describeBackup(b: BackupSummary): string {
  return `${b.label} (${b.type}): ${mb(b.databaseBytes)} of data, ${mb(b.repositoryBytes)} added to the repository, ` +
    `${b.durationS} s, WAL ${b.walStart} … ${b.walStop}`;
}

interface RunOptions {
  type: BackupType;
  fromStandby: boolean;
  retentionFull?: number;
  retentionDiff?: number;
}

export async function backupRunCommand(cluster: string, o: RunOptions): Promise<void> {
  const docker = await connectDocker();
  if (!(await clusterNames(docker)).includes(cluster)) throw new UsageError(`no cluster named ${cluster}`);
  if (o.fromStandby) {
    // Refused before any workflow starts (the workflow refuses too).
    throw new UsageError('--from-standby is not possible: the repository is a volume shared by the members, and pgBackRest 2.45 backs up from a standby only when it also reaches the primary over SSH or its TLS server; run without it');
  }
  const retention = o.retentionFull !== undefined || o.retentionDiff !== undefined ? { full: o.retentionFull, diff: o.retentionDiff } : undefined;
  // One workflow per request: a second `backup run` is a second backup, on purpose.
  const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${o.type}`;
  const { client, connection } = await connectTemporal();
  try {
    const handle = await startOrAttach<typeof backup>(
      client, 'backup', backupWorkflowIds.backup(cluster, id), cluster,
      [{ cluster, type: o.type, fromStandby: o.fromStandby, ...(retention ? { retention } : {}) }],
      { running: `a backup of ${cluster} is running`, starting: `backing up ${cluster} (${o.type})` },
      async () => undefined,
    );
    const b = await follow<BackupSummary>(handle, `backup of ${cluster}`);
    console.log(`backup ${describeBackup(b)}`);
  } finally {
    await connection.close();
  }
}

export async function backupListCommand(cluster: string, o: { json: boolean }): Promise<void> {
  const docker = await connectDocker();
  if (!(await clusterNames(docker)).includes(cluster)) throw new UsageError(`no cluster named ${cluster}`);
  const status = await createPgbackrestActivities(docker, resolvePaths()).backupStatus(cluster);
  if (o.json) {
    console.log(JSON.stringify(status, null, 2));
    return;
  }
  console.log(`stanza ${status.stanza}: ${status.status}${status.backupRunning ? ` (a backup is running${status.progress ? `, ${status.progress}` : ''})` : ''}` +
    (status.archiveMax ? `; WAL archived ${status.archiveMin} … ${status.archiveMax}` : ''));
  if (status.backups.length === 0) return;
  const t = new Table({ head: ['label', 'type', 'started (UTC)', 'duration', 'data', 'repository', 'WAL start', 'WAL stop', 'based on'] });
  for (const b of status.backups) {
    t.push([b.label, b.type, b.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), `${b.durationS} s`, mb(b.databaseBytes), mb(b.repositoryBytes), b.walStart, b.walStop, b.prior ?? '']);
  }
  console.log(t.toString());
}

export function registerBackupCommands(program: Command): void {
  const b = program.command('backup').description('pgBackRest backups: run, list').exitOverride();
  b.command('run')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--type <type>', 'full | diff | incr (a diff or incr without a full backup before it becomes full)', parseType, 'full' as BackupType)
    .option('--from-standby', 'back up from a standby instead of the leader', false)
    .option('--retention-full <n>', 'full backups to keep for this cluster from now on', parseRetention('full'))
    .option('--retention-diff <n>', 'differential backups to keep for this cluster from now on', parseRetention('diff'))
    .description('run one backup (on the leader) and print its label, type, size, duration and WAL range')
    .exitOverride()
    .action((name: string, o: RunOptions) => backupRunCommand(name, o));
  b.command('list')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'JSON output (the summary of `pgbackrest info --output=json`)', false)
    .description('the backups in the cluster\'s repository')
    .exitOverride()
    .action((name: string, o: { json: boolean }) => backupListCommand(name, o));
}
