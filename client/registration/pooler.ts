/** `dbaas cluster add-poolers NAME`: its arguments and help; client/commands/pooler.ts does it. */
import type { Command } from 'commander';
import { parseClusterName } from '../args';

export function registerPoolerCommands(cluster: Command): void {
  cluster
    .command('add-poolers')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('add the pooled endpoints (PgBouncer rw and ro) to a cluster created before they existed; a no-op when it has them')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/pooler')).addPoolersCommand(name));
}
