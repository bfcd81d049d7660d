/** `dbaas switchover NAME [--to MEMBER] [--at TIME]` and `dbaas switchover cancel NAME`: their arguments and help; client/commands/switchover.ts does them. */
import type { Command } from 'commander';
import { SwitchoverTimeError, parseSwitchoverTime } from '../../common/switchover';
import { parseClusterName, parseMemberName } from '../args';
import { UsageError } from '../errors';

function parseAt(v: string): string {
  try {
    return parseSwitchoverTime(v, Date.now());
  } catch (err) {
    if (err instanceof SwitchoverTimeError) throw new UsageError(err.message);
    throw err;
  }
}

export function registerSwitchoverCommands(program: Command): void {
  const sw = program
    .command('switchover')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--to <member>', 'the member to promote (default: the healthiest candidate)', (v: string) => parseMemberName(v))
    .option('--at <time>', 'run at this time: ISO 8601 with a UTC offset, e.g. 2030-01-31T02:00:00Z', (v: string) => parseAt(v))
    .description('hand the leader role to a healthy replica, now or at a set time; `switchover cancel NAME` cancels a scheduled one')
    .exitOverride()
    .action(async (name: string, o: { to?: string; at?: string }) => (await import('../commands/switchover')).switchoverCommand(name, o));
  sw.command('cancel')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('cancel a scheduled switchover (the leader stays)')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/switchover')).switchoverCancelCommand(name));
}
