/** `dbaas cluster add-metrics NAME`: its arguments and help; client/commands/metrics.ts does it. */
import type { Command } from 'commander';
import { parseClusterName } from '../args';

export function registerMetricsCommands(cluster: Command): void {
  cluster
    .command('add-metrics')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('add the exporters (monitor role, a metrics container beside each HAProxy) to a cluster created before they existed; a no-op when it has them')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/metrics')).addMetricsCommand(name));
}
