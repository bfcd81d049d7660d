/**
 * The `dbaas` CLI: thin — it validates input, starts workflows, follows them and prints.
 * Building the program and parsing arguments load only commander and pure code (client/registration/);
 * each action imports the module that does it (client/commands/), so `--help` and usage errors answer at once.
 */
import { Command, CommanderError, Option } from 'commander';
import { parseClusterName, parseCount, parseEtcd, parseHostCount, parseMemberName, parseProfile, parseReplicas, parseVersion } from './args';
import { DEFAULT_POSTGRES_VERSION, POSTGRES_VERSIONS } from '../common/postgres-version';
import { LeaseBusyError, UsageError, exitCodeOf } from './errors';
import { setWaitForLease } from './wait-for-lease';
import { registerClusterConfigCommands } from './registration/cluster-config';
import { registerClusterRestartCommand } from './registration/cluster-restart';
import { registerEventsCommands } from './registration/events';
import { registerSwitchoverCommands } from './registration/switchover';
import { registerPoolerCommands } from './registration/pooler';
import { registerCertificateCommands } from './registration/certificates';
import { registerBackupCommands } from './registration/backup';
import { registerRestoreCommands } from './registration/restore';
import { addS3Options } from './registration/s3-options';
import { registerAppRoleCommands } from './registration/app-role';
import { registerPsqlCommand } from './registration/psql';
import { registerHostCommands } from './registration/host';
import { splitPsqlArgs } from './psql-args';
import { registerUpgradeCommand } from './registration/upgrade';
import { registerClusterParameterCommands } from './registration/cluster-parameters';
import { registerDatabaseCommands } from './registration/db';
import { registerUserCommands } from './registration/user';
import { registerDashboardCommand } from './registration/dashboard';
import { parseDatabaseName, parseRoleName } from './db-args';
import { parseCpusOption, parseMemoryOption, registerClusterRebuildCommands } from './registration/cluster-rebuild';
import { registerLogsCommand } from './registration/logs';
import { registerMetricsCommands } from './registration/metrics';

/** Commander's own argument parsers run before actions; keep their errors on the exit-2 path. */
function arg<T>(parse: (v: string) => T): (v: string) => T {
  return (v: string) => parse(v);
}

/** psqlArgs: the arguments `dbaas psql` hands to psql (see splitPsqlArgs). */
export function buildProgram(psqlArgs: string[] = []): Command {
  const program = new Command('dbaas')
    .description('Highly-available PostgreSQL clusters on Docker, run by Temporal workflows')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') })
    .option('--no-wait', 'when another operation holds the cluster, say which and exit 1 instead of waiting for it')
    .hook('preAction', (_program, action) => setWaitForLease(action.optsWithGlobals<{ wait?: boolean }>().wait !== false));

  const cluster = program.command('cluster').description('create, inspect and delete clusters').exitOverride();
  addS3Options(cluster
    .command('create'))
    .argument('<name>', 'cluster name (DNS label, 1-30 characters)', arg(parseClusterName))
    .option('--replicas <n>', 'replicas besides the leader (0-8)', arg(parseReplicas), 2)
    .option('--sync', 'synchronous replication (Patroni synchronous_mode)', false)
    .option('--sync-strict', 'strict synchronous replication: with no synchronous standby, commits wait (implies --sync)', false)
    .option('--profile <name>', 'HA timing profile: default | fast', arg(parseProfile), 'default' as const)
    .option('--version <major>', `PostgreSQL major version: ${POSTGRES_VERSIONS.join(' | ')} (default ${DEFAULT_POSTGRES_VERSION})`, arg(parseVersion))
    .addOption(new Option('--etcd <n>', 'etcd members: 1 | 3').argParser(arg(parseEtcd)).default(1))
    .option('--detach', 'start the workflow and return', false)
    .option('--keep-on-failure', 'leave what was created when a step fails (debugging)', false)
    .option('--no-backups', 'no backup repository and no WAL archiving (`backup enable` adds them later)')
    .option('--zone-spread', 'with hosts added: one member of each kind per zone, not only per host', false)
    .option('--allow-colocate', 'with hosts added: let two members of a kind share a host when there are too few hosts', false)
    .option('--replace-after <duration>', 'with hosts added: re-create the members of a host lost this long on a host without members of the cluster (0: never)', '5m')
    .option('--cpus <n>', 'CPUs per Postgres member, e.g. 0.5 or 2 (default: no limit)', arg(parseCpusOption))
    .option('--memory <size>', 'memory per Postgres member, e.g. 512m or 2g, at least 256m; shared_buffers, work_mem, max_connections… follow from it (default: no limit)', arg(parseMemoryOption))
    .description('create a cluster: etcd, a Patroni leader, streaming replicas, HAProxy rw/ro')
    .exitOverride()
    .action(async (name: string, o) => (await import('./commands/cluster')).createClusterCommand(name, o));
  cluster
    .command('list')
    .option('--json', 'JSON output', false)
    .option('--deleted', 'deleted clusters whose backups (or data) are kept', false)
    .description('list clusters')
    .exitOverride()
    .action(async (o) => (await import('./commands/cluster')).listCommand(o));
  cluster
    .command('status')
    .argument('<name>', 'cluster name', arg(parseClusterName))
    .option('--json', 'JSON output', false)
    .description('members, roles, lag, endpoints')
    .exitOverride()
    .action(async (name: string, o) => (await import('./commands/cluster-status')).statusCommand(name, o));
  cluster
    .command('delete')
    .argument('<name>', 'cluster name', arg(parseClusterName))
    .option('--keep-data', 'keep the data volumes (and credentials): a create of the same name starts on them', false)
    .option('--purge-backups', 'delete the backup repository too (kept by default: restore works from it)', false)
    .option('--yes', 'delete without asking (needed where there is no terminal to type the name on)', false)
    .description('remove the cluster\'s containers, network and data volumes, keeping its backups (asks you to type the name)')
    .exitOverride()
    .action(async (name: string, o) => (await import('./commands/cluster')).deleteClusterCommand(name, o));
  // cluster set-profile, cluster set-sync
  registerClusterConfigCommands(cluster);
  // cluster restart [--member]
  registerClusterRestartCommand(cluster);
  // cluster events
  registerEventsCommands(cluster);
  // cluster add-poolers
  registerPoolerCommands(cluster);
  registerCertificateCommands(cluster);
  registerAppRoleCommands(cluster);
  // cluster config NAME, cluster config set|unset
  registerClusterParameterCommands(cluster);
  // cluster rebuild, cluster resize [--cpus] [--memory]
  registerClusterRebuildCommands(cluster);
  // cluster add-metrics
  registerMetricsCommands(cluster);
  // switchover [--to] [--at], switchover cancel
  registerSwitchoverCommands(program);
  // backup run, backup list
  registerBackupCommands(program);
  // restore SOURCE --into NEW (--to-time T | --latest)
  registerRestoreCommands(program);

  const replica = program.command('replica').description('add and remove replicas of a running cluster').exitOverride();
  replica
    .command('add')
    .argument('<name>', 'cluster name', arg(parseClusterName))
    .option('--count <n>', 'how many members to add (1-8)', arg(parseCount), 1)
    .option('--read-only', 'read-only members: serve reads through ro, never promoted (Patroni nofailover)', false)
    .description('add members that clone from the leader and serve reads through the ro port')
    .exitOverride()
    .action(async (name: string, o) => (await import('./commands/replica')).replicaAddCommand(name, o));
  replica
    .command('scale')
    .argument('<name>', 'cluster name', arg(parseClusterName))
    .requiredOption('--read-only <n>', 'the number of read-only members to converge to (0-8)', arg(parseReplicas))
    .description('add or remove read-only members until there are exactly N (running it again changes nothing)')
    .exitOverride()
    .action(async (name: string, o) => (await import('./commands/replica')).replicaScaleCommand(name, o));
  replica
    .command('remove')
    .argument('<name>', 'cluster name', arg(parseClusterName))
    .argument('<member>', 'member to remove, e.g. pg-3', arg(parseMemberName))
    .description('drain a member in HAProxy, stop it, and delete its data')
    .exitOverride()
    .action(async (name: string, member: string) => (await import('./commands/replica')).replicaRemoveCommand(name, member));

  program
    .command('connect')
    .argument('<name>', 'cluster name', arg(parseClusterName))
    .option('--ro', 'the read-only endpoint', false)
    .option('--member <member>', 'the direct endpoint of one member, e.g. pg-1', arg(parseMemberName))
    .option('--pooled', 'through PgBouncer (transaction pooling; no session state between transactions)', false)
    .option('--superuser', 'as postgres to database postgres, instead of the app role to database app', false)
    .option('--user <role>', 'as a role `dbaas user create` made, to its database', arg(parseRoleName))
    .option('--database <db>', "to this database instead of the role's own", arg(parseDatabaseName))
    .description('print a postgresql:// URI with credentials (rw by default; it always reaches the leader); for psql, use `dbaas psql`')
    .exitOverride()
    .action(async (name: string, o) => (await import('./commands/connect')).connectCommand(name, o));
  // psql NAME [flags] [-- psql args]
  registerPsqlCommand(program, psqlArgs);
  registerHostCommands(program);
  registerUpgradeCommand(program);
  registerDatabaseCommands(program);
  registerUserCommands(program);
  registerDashboardCommand(program);
  // logs NAME [--member] [--component] [--since] [--follow] [--grep] [--json]
  registerLogsCommand(program);

  const dev = program.command('dev').description('local environment: Docker engine, images, Temporal, worker').exitOverride();
  dev.command('up').option('--no-worker', 'do not start the background worker')
    .option('--no-server', 'install only (engine, images, Temporal CLI); start no Temporal server or worker').description('install and start everything (idempotent)').exitOverride()
    .action(async (o) => (await import('./commands/dev')).devUpCommand(o));
  dev.command('down').option('--engine', 'also stop the Docker engine dbaas started', false).description('stop the worker and Temporal').exitOverride()
    .action(async (o) => (await import('./commands/dev')).devDownCommand(o));
  dev.command('status').option('--json', 'JSON output', false).description('what is running').exitOverride()
    .action(async (o) => (await import('./commands/dev')).devStatusCommand(o));
  const hosts = dev.command('hosts').description('simulated hosts on this machine (scripts/sim-hosts.sh), each added with its own worker').exitOverride();
  hosts.command('up').argument('<count>', 'number of hosts (h1..hN)', arg(parseHostCount)).description('start N simulated hosts and add them (idempotent)').exitOverride()
    .action(async (count: number) => (await import('./commands/dev')).devHostsUpCommand(count));
  hosts.command('down').description('remove the simulated hosts, their workers and their registrations').exitOverride()
    .action(async () => (await import('./commands/dev')).devHostsDownCommand());

  program
    .command('worker')
    .description('run a worker in the foreground')
    .option('--host <name>', "run only the worker of this host (on the host's machine, with DOCKER_HOST its engine)")
    .exitOverride()
    .action(async (o: { host?: string }) => {
      const { runWorkerMain } = await import('../worker/main');
      await runWorkerMain(o);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { dbaas, psql } = splitPsqlArgs(argv.slice(2));
    await buildProgram(psql).parseAsync([...argv.slice(0, 2), ...dbaas]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" with exit code 0 in commander's exitOverride mode.
      if (err.exitCode === 0) return 0;
      return 2;
    }
    const code = exitCodeOf(err);
    // The lease's line stands alone, as a waiting operation prints it.
    console.error(err instanceof LeaseBusyError ? err.message : `dbaas: ${(err as Error).message}`);
    if (code !== 2 && process.env.DBAAS_DEBUG) console.error(err);
    return code;
  }
}

/**
 * process.exit drops what stdout and stderr still hold for a pipe whose reader is slower than the
 * CLI (`dbaas logs NAME | less`, `--json | jq`, a test collecting the output: all past 64 KiB was
 * lost). An empty write's callback runs once everything written before it is out.
 */
export function exitWhenFlushed(code: number): void {
  const flushed = (s: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => s.write('', () => resolve()));
  void Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code));
}

if (require.main === module) {
  main(process.argv).then(exitWhenFlushed);
}

export { UsageError };
