/** `dbaas cluster events NAME` and `dbaas cluster watch NAME`: their arguments and help; client/commands/events.ts does them. */
import type { Command } from 'commander';
import { parseClusterName } from '../args';

export function registerEventsCommands(cluster: Command): void {
  cluster
    .command('events')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'JSON output', false)
    .description('what the cluster watch recorded: leader changes, failovers, members down/up, lag, healing')
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/events')).eventsCommand(name, o));
  cluster
    .command('watch')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('start the cluster watch (CreateCluster starts it; for clusters made before it existed)')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/events')).watchCommand(name));
}
