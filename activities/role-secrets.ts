/**
 * Passwords of the login roles users make with `dbaas user create`, kept beside the cluster's own
 * in DBAAS_HOME/secrets/<cluster>.json (key `roles`): made and read inside activities and by the
 * CLI on this machine, never an activity argument or result. They share the file's life: kept by
 * `delete --keep-data`, gone with the cluster.
 */
import type { Paths } from '../common/paths';
import { newPassword, readClusterSecrets, replaceClusterSecrets } from './secrets';
import { storedRoleIn, type StoredRole, type WithRoles } from './secrets-file';

export { storedRoleIn, type StoredRole };

export function storedRole(paths: Paths, cluster: string, role: string): StoredRole | undefined {
  return storedRoleIn(readClusterSecrets(paths, cluster), role);
}

/**
 * The password operation `setBy` gives the role: the one stored by an earlier attempt of the same
 * operation, or a new one, stored before the server gets its verifier (a crash in between leaves
 * the new one stored, and the retry sets it). Called only under the cluster's lease.
 */
export function ensureRolePassword(paths: Paths, cluster: string, role: string, setBy: string, database: string): string {
  const secrets = readClusterSecrets(paths, cluster) as WithRoles;
  const stored = storedRoleIn(secrets, role);
  if (stored?.setBy === setBy) return stored.password;
  const entry: StoredRole = { password: newPassword(), database, setBy };
  replaceClusterSecrets(paths, cluster, { ...secrets, roles: { ...secrets.roles, [role]: entry } } as WithRoles);
  return entry.password;
}

/** After the role is dropped: its password goes too. */
export function forgetRolePassword(paths: Paths, cluster: string, role: string): void {
  const secrets = readClusterSecrets(paths, cluster) as WithRoles;
  if (!storedRoleIn(secrets, role)) return;
  const roles = { ...secrets.roles };
  delete roles[role];
  replaceClusterSecrets(paths, cluster, { ...secrets, roles } as WithRoles);
}
