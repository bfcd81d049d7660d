/** `dbaas logs NAME …`: its arguments and help; client/commands/logs.ts does it. */
import type { Command } from 'commander';
import { parseClusterName } from '../args';
import { parseComponent, parseGrep, parseLogMember, parseSince } from '../log-args';
import type { LogsOptions } from '../commands/logs';

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--member <member>', 'only this member, e.g. pg-1, etcd-0, haproxy, pgbouncer-rw', (v: string) => parseLogMember(v))
    .option('--component <component>', 'only postgres, patroni, etcd, haproxy or pgbouncer lines', (v: string) => parseComponent(v))
    .option('--since <time>', 'only lines since a duration ago (10m, 2h) or a time (2026-05-01T10:00:00Z)', (v: string) => parseSince(v))
    .option('--follow', 'keep printing new lines until Ctrl-C', false)
    .option('--grep <regex>', 'only lines matching this regular expression (the line, without its member/component)', (v: string) => parseGrep(v))
    .option('--json', 'one JSON object per line: {time, member, host, component, line}', false)
    .description("the cluster's container logs (stopped members' too), merged in time order, each line behind member/component")
    .exitOverride()
    .action(async (name: string, o: LogsOptions) => (await import('../commands/logs')).logsCommand(name, o));
}
