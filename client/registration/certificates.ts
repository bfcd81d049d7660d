/** `dbaas cluster rotate-certs NAME`: its arguments and help; client/commands/certificates.ts does it. */
import type { Command } from 'commander';
import { parseClusterName } from '../args';

export function registerCertificateCommands(cluster: Command): void {
  cluster
    .command('rotate-certs')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('issue new certificates (same CA) to every member and pooler and reload them (no restart, no failed query), and to the pgBackRest servers (they restart; only backups and WAL pushes use them)')
    .exitOverride()
    .action(async (name: string) => (await import('../commands/certificates')).rotateCertificatesCommand(name));
}
