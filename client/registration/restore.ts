/** `dbaas restore SOURCE --into NEW (--to-time T | --latest)`: its arguments and help; client/commands/restore.ts does it. */
import { Option, type Command } from 'commander';
import { parseClusterName, parseProfile, parseReplicas } from '../args';
import { addS3Options } from './s3-options';
import type { RestoreOptions } from '../commands/restore';

export function registerRestoreCommands(program: Command): void {
  addS3Options(program
    .command('restore'))
    .argument('<source>', 'the cluster whose backups to restore (also a deleted one whose backups were kept)', (v: string) => parseClusterName(v))
    .requiredOption('--into <name>', 'the new cluster to create (the source stays as it is)', (v: string) => parseClusterName(v))
    .option('--to-time <time>', "recover to this moment: 'YYYY-MM-DD HH:MM:SS+00'")
    .option('--latest', 'recover to the end of the archived WAL', false)
    .option('--replicas <n>', 'replicas of the new cluster besides the leader (0-8)', (v: string) => parseReplicas(v), 1)
    .addOption(new Option('--profile <name>', 'HA timing profile of the new cluster: default | fast').argParser((v: string) => parseProfile(v)).default('default'))
    .option('--wait-for-backup', "return once the new cluster's first backup is made, not once it serves", false)
    .description('point-in-time restore into a new cluster, which gets its own stanza and a first backup (made after the command returns, unless --wait-for-backup)')
    .exitOverride()
    .action(async (source: string, o: RestoreOptions) => (await import('../commands/restore')).restoreCommand(source, o));
}
