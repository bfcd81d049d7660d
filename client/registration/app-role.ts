/** `dbaas cluster add-app-role NAME`: its arguments and help; client/commands/app-role.ts does it. */
import type { Command } from 'commander';
import { APP_DATABASE, APP_USER } from '../../common/service-users';
import { parseClusterName } from '../args';

export function registerAppRoleCommands(cluster: Command): void {
  cluster
    .command('add-app-role')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description(`add the ${APP_USER} role (not superuser) and its database ${APP_DATABASE} to a cluster created before dbaas made them; a no-op when it has them`)
    .exitOverride()
    .action(async (name: string) => (await import('../commands/app-role')).addAppRoleCommand(name));
}
