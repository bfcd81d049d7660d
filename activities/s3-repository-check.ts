/**
 * Before a cluster's members are made for an S3 repository: the bucket answers, takes the
 * credentials, and holds no stanza of that name already (another cluster's, or a deleted one's
 * whose settings are gone): stanza-create would refuse it only at the end of the create, and
 * its backups must never be mixed with or lost to a new database.
 */
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { pgbackrestOnRepository } from './backup-repository';
import { ErrorTypes, finalError } from './errors';
import { readRepositoryLocation } from './backup-settings';

/** `pgbackrest repo-ls` of the stanza's two directories; a final RepositoryRefused error says what is wrong. */
export async function checkS3Repository(docker: Docker, paths: Paths, cluster: string, o: { allowStanza: boolean }): Promise<void> {
  const l = readRepositoryLocation(paths, cluster);
  if (l.type !== 's3') return;
  const where = `s3://${l.bucket}${l.path} at https://${l.endpoint}:${l.port}`;
  for (const dir of ['backup', 'archive']) {
    let listed: string;
    try {
      // io-timeout: pgBackRest retries a refused TLS handshake until it (60 s by default); a
      // listing this small answers in well under a second when anything answers at all.
      listed = await pgbackrestOnRepository(docker, paths, cluster, ['--io-timeout=15', 'repo-ls', `${dir}/${cluster}`], 'repo-ls');
    } catch (err) {
      throw finalError(ErrorTypes.RepositoryRefused, `${where} cannot be used: ${(err as Error).message.replace(/^.*failed \(exit \d+\): /, '')}`);
    }
    if (!o.allowStanza && listed.trim() !== '') {
      throw finalError(ErrorTypes.RepositoryRefused, `${where} already holds backups of a cluster named ${cluster} (${dir}/${cluster}); choose another prefix, or remove them`);
    }
  }
}
