/**
 * The passphrase of a cluster's encrypted backup repository (pgBackRest repo1-cipher-pass), in
 * DBAAS_HOME/secrets/<cluster>.backup.json (mode 0600). Its own file, not the cluster's secrets
 * file: `cluster delete` removes that one but keeps the repository, which nothing can read
 * without the passphrase. It goes with the repository (`backup purge`, `delete --purge-backups`).
 *
 * A repository made before dbaas encrypted them has no passphrase file and stays unencrypted:
 * pgBackRest cannot encrypt an existing repository. The file is made only together with a new
 * repository volume, so it never appears beside an unencrypted one.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { Paths } from '../common/paths';
import { insideDir } from './home-paths';
import { createSecretFileOnce } from './secrets';

interface PassphraseFile {
  /** 48 random bytes, base64url: 64 characters with nothing to quote in a config file. */
  passphrase: string;
}

function passphraseFile(paths: Paths, cluster: string): string {
  return insideDir(paths.secrets, `${cluster}.backup.json`);
}

/** The repository's passphrase, or undefined for an unencrypted repository (made before encryption). */
export function readBackupPassphrase(paths: Paths, cluster: string): string | undefined {
  const file = passphraseFile(paths, cluster);
  if (!fs.existsSync(file)) return undefined;
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as PassphraseFile).passphrase;
}

/**
 * Make the passphrase unless one exists: an existing file is never replaced (a concurrent or
 * retried attempt, or a repository that is already encrypted with it).
 */
export function ensureBackupPassphrase(paths: Paths, cluster: string): void {
  fs.mkdirSync(paths.secrets, { recursive: true, mode: 0o700 });
  const file = passphraseFile(paths, cluster);
  if (fs.existsSync(file)) return;
  const content: PassphraseFile = { passphrase: crypto.randomBytes(48).toString('base64url') };
  createSecretFileOnce(file, JSON.stringify(content, null, 2));
}

export function deleteBackupPassphrase(paths: Paths, cluster: string): void {
  fs.rmSync(passphraseFile(paths, cluster), { force: true });
}
