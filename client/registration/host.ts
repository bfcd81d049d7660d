/** `dbaas host add|list|drain|remove`: their arguments and help; client/commands/host.ts does them. */
import type { Command } from 'commander';

export function registerHostCommands(program: Command): void {
  const host = program.command('host').description('the Docker engines members run on (this machine\'s is host `local`)').exitOverride();
  host
    .command('add')
    .argument('<name>', 'host name (a-z, 0-9, -)')
    .requiredOption('--docker <url>', "the host's engine socket as its worker opens it (unix:///PATH)")
    .option('--address <ip>', 'the address other hosts and clients reach it at')
    .option('--zone <zone>', 'failure zone (with `cluster create --zone-spread`)')
    .description('add a host')
    .exitOverride()
    .action(async (name: string, o) => (await import('../commands/host')).hostAddCommand(name, o));
  host.command('list').option('--json', 'JSON output', false).description('hosts with address, zone, state and the members they run').exitOverride()
    .action(async (o) => (await import('../commands/host')).hostListCommand(o));
  host
    .command('drain')
    .argument('<name>')
    .description('move every member off a host: new members elsewhere, a switchover if one leads, then the removals')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/host')).hostDrainCommand(name));
  host
    .command('remove')
    .argument('<name>')
    .option('--force', 'forget a host that does not answer', false)
    .description('remove a host that runs nothing')
    .exitOverride()
    .action(async (name: string, o) => (await import('../commands/host')).hostRemoveCommand(name, o));
}
