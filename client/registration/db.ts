/** `dbaas db create|list|drop`: their arguments and help; client/commands/db.ts does them. */
import type { Command } from 'commander';
import { parseClusterName } from '../args';
import { parseDroppableDatabase, parseNewDatabase, parseOwner } from '../db-args';

export function registerDatabaseCommands(program: Command): void {
  const db = program.command('db').description('create, list and drop databases of a cluster').exitOverride();
  db.command('create')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .argument('<database>', 'database name (lowercase letters, digits, _)', (v: string) => parseNewDatabase(v))
    .option('--owner <role>', 'the role that owns it (default postgres); it must exist (`dbaas user create`)', (v: string) => parseOwner(v))
    .description('create a database (workflow create-database:NAME:DB); with poolers, logins to it through them work at once')
    .exitOverride()
    .action(async (name: string, database: string, o: { owner?: string }) => (await import('../commands/db')).dbCreateCommand(name, database, o));
  db.command('list')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'JSON output', false)
    .description('the databases of a cluster: owner, size, sessions on the leader')
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/db')).dbListCommand(name, o));
  db.command('drop')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .argument('<database>', 'database to drop', (v: string) => parseDroppableDatabase(v))
    .option('--yes', 'drop without asking (needed where there is no terminal to type the name on)', false)
    .description('drop a database and its data, ending its sessions (asks you to type its name; workflow drop-database:NAME:DB)')
    .exitOverride()
    .action(async (name: string, database: string, o: { yes: boolean }) => (await import('../commands/db')).dbDropCommand(name, database, o));
}
