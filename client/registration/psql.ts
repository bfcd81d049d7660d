/** `dbaas psql NAME [flags] [-- psql args]`: its arguments and help; client/commands/psql.ts starts psql. */
import type { Command } from 'commander';
import { parseClusterName, parseMemberName } from '../args';
import type { EndpointFlags } from '../connection-target';

/** psqlArgs: what splitPsqlArgs set apart for psql before commander parsed the rest. */
export function registerPsqlCommand(
  program: Command, psqlArgs: string[], run: (name: string, o: EndpointFlags, psqlArgs: string[]) => Promise<void> = async (name, o, args) => (await import('../commands/psql')).psqlCommand(name, o, args),
): void {
  program
    .command('psql')
    .usage('<name> [options] [--] [psql arguments...]')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--ro', 'the read-only endpoint', false)
    .option('--member <member>', 'the direct endpoint of one member, e.g. pg-1', (v: string) => parseMemberName(v))
    .option('--pooled', 'through PgBouncer (transaction pooling; no session state between transactions)', false)
    .option('--superuser', 'as postgres to database postgres, instead of the app role to database app', false)
    .description('start the local psql connected to the cluster (the password goes through a 0600 file, never a command line); ' +
      'the arguments after --, or from the first one that is not an option of dbaas on, go to psql')
    .exitOverride()
    .action((name: string, o: EndpointFlags) => run(name, { ro: o.ro, pooled: o.pooled, member: o.member, superuser: o.superuser }, psqlArgs));
}
