/** `dbaas upgrade NAME --to 17 --method …` and `upgrade finish|rollback|status NAME`: their arguments and help; client/commands/upgrade*.ts do them. */
import type { Command } from 'commander';
import type { PostgresVersion } from '../../common/postgres-version';
import { parseClusterName, parseVersion } from '../args';
import { UsageError } from '../errors';

export const UPGRADE_METHODS = ['in-place', 'blue-green'] as const;
export type UpgradeMethod = (typeof UPGRADE_METHODS)[number];

function parseMethod(v: string): UpgradeMethod {
  if (!(UPGRADE_METHODS as readonly string[]).includes(v)) throw new UsageError(`--method must be one of ${UPGRADE_METHODS.join(', ')}, got "${v}"`);
  return v as UpgradeMethod;
}

export function registerUpgradeCommand(program: Command): void {
  const upgrade = program
    .command('upgrade')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    // Not a required option: commander would demand it of `upgrade status` too.
    .option('--to <major>', 'the PostgreSQL major to upgrade to (required)', (v: string) => parseVersion(v, '--to'))
    .option('--method <method>', `${UPGRADE_METHODS.join(' | ')} (default blue-green): in-place runs pg_upgrade --link on the cluster's own data, offline; blue-green builds the new major's members beside the old ones, replicates into them and cuts over in seconds; upgrade finish or upgrade rollback then ends it`, (v: string) => parseMethod(v))
    .option('--detach', 'start the workflow and return', false)
    .option('--no-backup', 'blue-green: no full backup of the old major before the cutover (the way back once `upgrade finish` removed the old members); in-place always takes one')
    .description('upgrade a cluster to a newer PostgreSQL major, keeping its name, ports and credentials (a backup first)')
    .exitOverride()
    .action(async (name: string, o: { to?: PostgresVersion; method?: UpgradeMethod; detach: boolean; backup: boolean }) => {
      // pg_upgrade --link leaves no usable old copy: the backup is the in-place method's only way back.
      if (!o.backup && o.method === 'in-place') throw new UsageError('--no-backup is for --method blue-green: in place, the backup taken first is the only way back');
      return (await import('../commands/upgrade')).upgradeCommand(name, o);
    });
  upgrade.command('finish')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('end a blue-green upgrade that has cut over: the old major\'s members are removed')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/upgrade-decision')).upgradeFinishCommand(name));
  upgrade.command('rollback')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--discard-writes', 'after the cutover: roll back although writes made on the new major since then are not carried back', false)
    .description('undo a blue-green upgrade: before its cutover the new members go; after it the old major serves again')
    .exitOverride()
    .action(async (name: string, o: { discardWrites: boolean }) => (await import('../commands/upgrade-decision')).upgradeRollbackCommand(name, o));
  upgrade.command('status')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'print the status as JSON', false)
    .description('the newest upgrade of a cluster: its method, majors, state, phase, and (blue-green) replication lag')
    .exitOverride()
    .action(async (name: string, o: { json: boolean }) => (await import('../commands/upgrade-status')).upgradeStatusCommand(name, o));
}
