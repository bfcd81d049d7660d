/** `dbaas backup run|enable|migrate|purge|list|verify|schedule`: their arguments and help; client/commands/backup.ts does them. */
import type { Command } from 'commander';
import { isBackupType, retentionProblem, type BackupType } from '../../common/backup';
import { REPOSITORY_HOST_TARGET } from '../../common/repository';
import { parseClusterName } from '../args';
import { UsageError } from '../errors';
import type { S3Options } from '../s3-options';
import type { RunOptions } from '../commands/backup-run';
import { addS3Options } from './s3-options';

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

export function registerBackupCommands(program: Command): void {
  const b = program.command('backup').description('pgBackRest backups: run, list, verify, schedule, enable').exitOverride();
  b.command('run')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--type <type>', 'full | diff | incr (a diff or incr without a full backup before it becomes full)', parseType, 'full' as BackupType)
    .option('--from-standby', 'require the data files to come from a standby (the default when one can serve them; refused when none can)', false)
    .option('--from-primary', 'read every file from the leader, even when a standby could serve', false)
    .option('--retention-full <n>', 'full backups to keep for this cluster from now on', parseRetention('full'))
    .option('--retention-diff <n>', 'differential backups to keep for this cluster from now on', parseRetention('diff'))
    .description('run one backup (on the leader) and print its label, type, size, duration and WAL range')
    .exitOverride()
    .action(async (name: string, o: RunOptions) => (await import('../commands/backup-run')).backupRunCommand(name, o));
  addS3Options(b.command('enable')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v)))
    .description('give a cluster made without backups its repository (a volume, or an S3 bucket with --backup-to) and WAL archiving: re-creates its members one by one (replicas first, then the leader after a switchover)')
    .exitOverride()
    .action(async (name: string, o: S3Options) => (await import('../commands/backup')).backupEnableCommand(name, o));
  b.command('migrate')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('move a cluster\'s volume repository, with its backups and WAL, onto the repository host: re-creates its members one by one, then removes the volume')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/backup')).backupEnableCommand(name, { backupTo: REPOSITORY_HOST_TARGET }));
  b.command('purge')
    .argument('<name>', 'a deleted cluster whose backups were kept', (v: string) => parseClusterName(v))
    .option('--yes', 'remove without asking (needed where there is no terminal to type the name on)', false)
    .description('remove the backups a deleted cluster kept (asks you to type the name)')
    .exitOverride()
    .action(async (cluster: string, o: { yes: boolean }) => (await import('../commands/cluster')).removeClusterOrBackups(cluster, { keepData: false, purgeBackups: true, yes: o.yes }, 'purge'));
  b.command('list')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'JSON output (the summary of `pgbackrest info --output=json`)', false)
    .description('the backups in the cluster\'s repository')
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/backup')).backupListCommand(name, o));

  b.command('verify')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--label <label>', 'the backup to verify (default: the latest)')
    .description('restore drill: restore the backup into a scratch cluster, check it answers and its row counts match those recorded at backup time, delete it')
    .exitOverride()
    .action(async (name: string, o: { label?: string }) => (await import('../commands/backup')).backupVerifyCommand(name, o));

  // `backup schedule NAME --cron …` creates; `backup schedule list|pause|resume|trigger|delete NAME` manage.
  const sched = b.command('schedule')
    .argument('[name]', 'cluster name', (v: string) => parseClusterName(v))
    .option('--cron <expr>', 'when, as five cron fields in UTC, e.g. "0 3 * * *"')
    .option('--type <type>', 'full | diff | incr', parseType, 'full' as BackupType)
    .option('--verify', 'run a restore drill (backup verify) after each scheduled backup', false)
    .description('run backups on a Temporal Schedule (one per cluster and type; overlap: skip); subcommands list, pause, resume, trigger, delete')
    .exitOverride()
    .action(async (name: string | undefined, o: { cron?: string; type: BackupType; verify: boolean }) => {
      if (name === undefined) throw new UsageError('backup schedule needs a cluster name: backup schedule NAME --cron "0 3 * * *"');
      await (await import('../commands/backup')).scheduleCreateCommand(name, o);
    });
  sched.command('list')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'JSON output', false)
    .description('the cluster\'s backup schedules: cron, state, next and last run')
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/backup')).scheduleListCommand(name, o));
  for (const [action, what] of [
    ['pause', 'pause the schedule (no new backups until resumed)'],
    ['resume', 'resume a paused schedule'],
    ['trigger', 'start one backup now through the schedule'],
    ['delete', 'delete the schedule'],
  ] as const) {
    sched.command(action)
      .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
      .option('--type <type>', 'which schedule, when the cluster has several: full | diff | incr', parseType)
      .description(what)
      .exitOverride()
      .action(async (name: string, o: { type?: BackupType }) => (await import('../commands/backup')).scheduleActionCommand(action, name, o));
  }
}
