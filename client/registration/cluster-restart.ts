/** `dbaas cluster restart NAME [--member M]`: its arguments and help; client/commands/cluster-restart.ts does it. */
import type { Command } from 'commander';
import { parseClusterName, parseMemberName } from '../args';

export function registerClusterRestartCommand(cluster: Command): void {
  cluster
    .command('restart')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--member <member>', 'restart only this member, e.g. pg-1 (the leader: after a switchover away from it)', (v: string) => parseMemberName(v))
    .description('restart PostgreSQL on every member: replicas one at a time, then a switchover, then the old leader (writes down one switchover)')
    .exitOverride()
    .action(async (name: string, o: { member?: string }) => (await import('../commands/cluster-restart')).clusterRestartCommand(name, o));
}
