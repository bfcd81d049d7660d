/** `dbaas cluster config NAME`, `cluster config set|unset NAME …`: their arguments and help; client/commands/cluster-parameters.ts does them. */
import type { Command } from 'commander';
import { RESTART_MODES, type RestartMode } from '../../common/set-parameters';
import { parseClusterName } from '../args';
import { UsageError } from '../errors';

export function parseRestartMode(v: string): RestartMode {
  const mode = RESTART_MODES.find((m) => m === v);
  if (!mode) throw new UsageError(`--restart must be one of ${RESTART_MODES.join(', ')}, got "${v}"`);
  return mode;
}

export function registerClusterParameterCommands(cluster: Command): void {
  const config = cluster
    .command('config')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'JSON output', false)
    .description("PostgreSQL parameters not at their default, where each comes from, and which members wait for a restart")
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/cluster-parameters')).configShowCommand(name, o));
  const verbs = [
    { verb: 'set', items: '<pairs...>', what: 'KEY=VALUE, e.g. work_mem=64MB', unset: false,
      description: "set PostgreSQL parameters through Patroni's DCS, checked against the leader's pg_settings" },
    { verb: 'unset', items: '<keys...>', what: 'parameter names, e.g. work_mem', unset: true,
      description: "remove PostgreSQL parameters from Patroni's DCS (back to their default)" },
  ];
  for (const v of verbs) {
    config
      .command(v.verb)
      .argument('<name>', 'cluster name', (x: string) => parseClusterName(x))
      .argument(v.items, v.what)
      .option('--restart <mode>', 'rolling: restart the members that wait for it (one switchover) | none', (x: string) => parseRestartMode(x), 'none')
      .description(v.description)
      .exitOverride()
      .action(async (name: string, items: string[], o: { restart: RestartMode }) => (await import('../commands/cluster-parameters')).configChangeCommand(name, items, o, v.unset));
  }
}
