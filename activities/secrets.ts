/**
 * Per-cluster passwords live only in DBAAS_HOME/secrets/<cluster>.json (mode 0600, directory
 * 0700). Activities read them at the moment they render a config; nothing secret is ever an
 * activity argument or result, so nothing secret reaches Temporal's history.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { Paths } from '../common/paths';
import type { ClusterPasswords } from '../common/render/patroni';
import { clusterSecretsExist, readClusterSecrets, secretFile } from './secrets-file';
import { deleteClusterTls, ensureClusterCa } from './cluster-tls';

export { clusterSecretsExist, readClusterSecrets };

export function newPassword(): string {
  // 24 random bytes → 32 URL-safe characters: no quoting problems in URIs, YAML or conninfo.
  return crypto.randomBytes(24).toString('base64url');
}

/** A new secret file, mode 0600, unless it exists: of two attempts racing, the first writer's content stands. */
export function createSecretFileOnce(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    // link() fails if the name exists, where rename() would replace it.
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function replaceSecretFile(file: string, secrets: Partial<ClusterPasswords>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The whole file replaced at once; called only under the cluster's lease, so nothing else writes it meanwhile. */
export function replaceClusterSecrets(paths: Paths, cluster: string, secrets: ClusterPasswords): void {
  replaceSecretFile(secretFile(paths, cluster), secrets);
}

/**
 * The app role's password, made and added to the cluster's secrets on first use (clusters made
 * before the role have none). Called only under the cluster's lease, so nothing else writes the
 * file meanwhile; a retry finds the password its first attempt wrote.
 */
export function ensureAppPassword(paths: Paths, cluster: string): string {
  const secrets = readClusterSecrets(paths, cluster);
  if (secrets.app) return secrets.app;
  const app = newPassword();
  replaceSecretFile(secretFile(paths, cluster), { ...secrets, app });
  return app;
}

export function createSecretsActivities(paths: Paths) {
  return {
    /** Generate the cluster's passwords once; an existing file is kept (retries, --keep-data). */
    async ensureClusterSecrets(cluster: string): Promise<void> {
      fs.mkdirSync(paths.secrets, { recursive: true, mode: 0o700 });
      fs.chmodSync(paths.secrets, 0o700);
      const file = secretFile(paths, cluster);
      const fresh: ClusterPasswords = {
        superuser: newPassword(), replication: newPassword(), rewind: newPassword(), pooler: newPassword(),
        patroniApi: newPassword(), etcdRoot: newPassword(), etcdPatroni: newPassword(), monitor: newPassword(),
      };
      if (fs.existsSync(file)) {
        // Keep existing passwords; add any this version of dbaas needs that the file lacks.
        const existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ClusterPasswords>;
        const missing = (Object.keys(fresh) as (keyof ClusterPasswords)[]).filter((k) => !existing[k]);
        if (missing.length === 0) return;
        replaceSecretFile(file, { ...fresh, ...existing });
        return;
      }
      createSecretFileOnce(file, JSON.stringify(fresh, null, 2));
    },

    async clusterSecretsExist(cluster: string): Promise<boolean> {
      return clusterSecretsExist(paths, cluster);
    },

    /** Only createCluster calls it: members made before it would run without TLS beside a CA that says TLS is on. */
    async ensureClusterCa(cluster: string): Promise<void> {
      await ensureClusterCa(paths, cluster);
    },

    /** The passwords and the cluster CA. */
    async deleteClusterSecrets(cluster: string): Promise<void> {
      fs.rmSync(secretFile(paths, cluster), { force: true });
      deleteClusterTls(paths, cluster);
    },
  };
}
