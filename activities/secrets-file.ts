/**
 * Reading a cluster's secret file, DBAAS_HOME/secrets/<cluster>.json: what `connect` and `psql`
 * need, without what makes and rotates the passwords and the CA (./secrets.ts, ./role-secrets.ts).
 */
import * as fs from 'node:fs';
import type { Paths } from '../common/paths';
import type { ClusterPasswords } from '../common/render/patroni';
import { ErrorTypes, finalError } from './errors';
import { insideDir } from './home-paths';

export function secretFile(paths: Paths, cluster: string): string {
  return insideDir(paths.secrets, `${cluster}.json`);
}

export function readClusterSecrets(paths: Paths, cluster: string): ClusterPasswords {
  const file = secretFile(paths, cluster);
  if (!fs.existsSync(file)) {
    throw finalError(ErrorTypes.SecretsMissing, `no secrets for cluster ${cluster} in ${paths.secrets}`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterPasswords;
}

/** Kept by `delete --keep-data` (a create then reuses the passwords the kept data was made with). */
export function clusterSecretsExist(paths: Paths, cluster: string): boolean {
  return fs.existsSync(secretFile(paths, cluster));
}

export interface StoredRole {
  password: string;
  /** The database its URI names (`dbaas connect --user` without --database). */
  database: string;
  /** The operation (workflow run) that set the password: its retries find it and keep it. */
  setBy: string;
}

export type WithRoles = ClusterPasswords & { roles?: Record<string, StoredRole> };

/** The role's stored password, if dbaas made or rotated it (the CLI passes the secrets it read). */
export function storedRoleIn(secrets: ClusterPasswords, role: string): StoredRole | undefined {
  const roles = (secrets as WithRoles).roles;
  return roles && Object.hasOwn(roles, role) ? roles[role] : undefined;
}
