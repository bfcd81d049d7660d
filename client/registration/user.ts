/** `dbaas user create|list|rotate|drop`: their arguments and help; client/commands/user.ts does them. */
import type { Command } from 'commander';
import { APP_DATABASE } from '../../common/service-users';
import { parseClusterName } from '../args';
import { parseUserDatabase, parseUserRole } from '../db-args';

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('create, list, rotate and drop login roles of a cluster').exitOverride();
  const cluster = (v: string): string => parseClusterName(v);
  const role = (v: string): string => parseUserRole(v);
  user.command('create')
    .argument('<name>', 'cluster name', cluster)
    .argument('<role>', 'role name (lowercase letters, digits, _)', role)
    .option('--database <db>', `the database it connects to (default ${APP_DATABASE}); it must exist (\`dbaas db create\`)`, (v: string) => parseUserDatabase(v))
    .option('--readonly', 'read-only: SELECT on the tables of its database, later ones included; default read-write: creates in its database', false)
    .description('create a login role with a generated password (kept in DBAAS_HOME/secrets); prints its URI once (workflow create-user:NAME:ROLE)')
    .exitOverride()
    .action(async (name: string, r: string, o: { database?: string; readonly: boolean }) => (await import('../commands/user')).userCreateCommand(name, r, o));
  user.command('list')
    .argument('<name>', 'cluster name', cluster)
    .option('--json', 'JSON output', false)
    .description('the login roles of a cluster: access, databases, whether `connect --user` has their password')
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/user')).userListCommand(name, o));
  user.command('rotate')
    .argument('<name>', 'cluster name', cluster)
    .argument('<role>', 'role name', role)
    .description('give a role a new generated password and print its URI once; the old one stops working, open sessions go on (workflow rotate-user:NAME:ROLE)')
    .exitOverride()
    .action(async (name: string, r: string) => (await import('../commands/user')).userRotateCommand(name, r));
  user.command('drop')
    .argument('<name>', 'cluster name', cluster)
    .argument('<role>', 'role name', role)
    .option('--yes', 'drop without asking (needed where there is no terminal to type the name on)', false)
    .description("drop a role: its sessions end, what it owns goes to each database's owner (asks you to type its name; workflow drop-user:NAME:ROLE)")
    .exitOverride()
    .action(async (name: string, r: string, o: { yes: boolean }) => (await import('../commands/user')).userDropCommand(name, r, o));
}
