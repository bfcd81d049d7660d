/** `dbaas cluster rebuild NAME` and `dbaas cluster resize NAME [--cpus N] [--memory SIZE]`: their arguments and help; client/commands/cluster-rebuild.ts does them. */
import type { Command } from 'commander';
import { parseCpus, parseMemory } from '../../common/sizes';
import { parseClusterName } from '../args';
import { UsageError } from '../errors';

export function parseCpusOption(v: string): number {
  const p = parseCpus(v);
  if ('problem' in p) throw new UsageError(p.problem);
  return p.cpus;
}

export function parseMemoryOption(v: string): number {
  const p = parseMemory(v);
  if ('problem' in p) throw new UsageError(p.problem);
  return p.memoryMiB;
}

export function registerClusterRebuildCommands(cluster: Command): void {
  cluster
    .command('rebuild')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description("re-create every member's container on the current image, data kept: replicas one at a time, then a switchover, then the old leader")
    .exitOverride()
    .action(async (name: string) => (await import('../commands/cluster-rebuild')).rebuildCommand(name));
  cluster
    .command('resize')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--cpus <n>', 'CPUs per Postgres member, e.g. 0.5 or 2', (v: string) => parseCpusOption(v))
    .option('--memory <size>', 'memory per Postgres member, e.g. 512m, 2g (at least 256m); the parameters derived from it are written first', (v: string) => parseMemoryOption(v))
    .description('new limits per Postgres member, applied as a rebuild (writes down one switchover)')
    .exitOverride()
    .action(async (name: string, o: { cpus?: number; memory?: number }) => {
      if (o.cpus === undefined && o.memory === undefined) throw new UsageError('cluster resize needs --cpus, --memory or both');
      return (await import('../commands/cluster-rebuild')).rebuildCommand(name, { ...(o.cpus !== undefined ? { cpus: o.cpus } : {}), ...(o.memory !== undefined ? { memoryMiB: o.memory } : {}) });
    });
}
