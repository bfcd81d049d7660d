/**
 * `dbaas user create|list|rotate|drop`: login roles in a cluster (workflows createUser, rotateUser,
 * dropUser; the list reads through rw). create and rotate print the role's URI, with its password,
 * once, on stdout, read from the secrets after the workflow ended (`dbaas connect --user` prints it
 * again); the password is in no workflow's input, result or steps.
 */
import { readDatabaseFacts } from '../../activities/databases';
import { listRoles, readRoleFacts, type RoleRow } from '../../activities/roles';
import { storedRoleIn } from '../../activities/role-secrets';
import { readClusterSecrets } from '../../activities/secrets';
import { createUserRefusal, dropUserRefusal, rotateUserRefusal, type CreateUserInput, type UserRoleInput } from '../../common/db-objects';
import { resolvePaths } from '../../common/paths';
import { APP_DATABASE, APP_USER, SUPERUSER } from '../../common/service-users';
import { databaseWorkflowIds } from '../../common/workflow-ids';
import type { createUser, CreateUserResult, dropUser, DropUserResult, rotateUser, RotateUserResult } from '../../workflows';
import { liveClusterInventory, runClusterOperation, withClusterSql } from '../cluster-sql';
import { confirmByName } from '../confirm';
import { connectionUri, resolveConnectionTarget } from '../connection-target';
import { table } from '../table';

/** The role's rw URI with its stored password: printed once, last, on stdout. */
async function printUri(cluster: string, role: string): Promise<void> {
  console.log(connectionUri(await resolveConnectionTarget(cluster, { ro: false, pooled: false, superuser: false, user: role })));
}

export async function userCreateCommand(cluster: string, role: string, o: { database?: string; readonly: boolean }): Promise<void> {
  const input: CreateUserInput = { cluster, role, ...(o.database ? { database: o.database } : {}), readonly: o.readonly };
  const r = await runClusterOperation<typeof createUser, CreateUserResult>({
    cluster, workflowType: 'createUser', workflowId: databaseWorkflowIds.createUser(cluster, role), args: [input],
    messages: { running: `role ${role} is being created in ${cluster}`, starting: `creating role ${role} in ${cluster}` },
    what: `user create ${cluster} ${role}`,
    refusal: async (c) => createUserRefusal(input, await readRoleFacts(c, role), await readDatabaseFacts(c, o.database ?? APP_DATABASE)),
  });
  console.log(`${cluster}: role ${r.role} created (${r.readonly ? 'read-only' : 'read-write'}, database ${r.database}); its URI, shown once (\`dbaas connect ${cluster} --user ${r.role}\` prints it again):`);
  await printUri(cluster, role);
}

export async function userRotateCommand(cluster: string, role: string): Promise<void> {
  const input: UserRoleInput = { cluster, role };
  const r = await runClusterOperation<typeof rotateUser, RotateUserResult>({
    cluster, workflowType: 'rotateUser', workflowId: databaseWorkflowIds.rotateUser(cluster, role), args: [input],
    messages: { running: `the password of ${role} in ${cluster} is being rotated`, starting: `rotating the password of ${role} in ${cluster}` },
    what: `user rotate ${cluster} ${role}`,
    refusal: async (c) => rotateUserRefusal(input, await readRoleFacts(c, role)),
  });
  console.log(`${cluster}: ${r.role} has a new password; the old one no longer logs in${r.pooled ? ' (pooled sessions open now go on)' : ''}. Its URI, shown once:`);
  await printUri(cluster, role);
}

export async function userDropCommand(cluster: string, role: string, o: { yes: boolean }): Promise<void> {
  const input: UserRoleInput = { cluster, role };
  const r = await runClusterOperation<typeof dropUser, DropUserResult>({
    cluster, workflowType: 'dropUser', workflowId: databaseWorkflowIds.dropUser(cluster, role), args: [input],
    messages: { running: `role ${role} is being dropped from ${cluster}`, starting: `dropping role ${role} from ${cluster}` },
    what: `user drop ${cluster} ${role}`,
    refusal: async (c) => dropUserRefusal(input, await readRoleFacts(c, role)),
    confirm: () => confirmByName('drop role', role, o.yes),
  });
  const kept = r.reassignedIn.length > 0 ? `; what it owned now belongs to the owner of ${r.reassignedIn.join(', ')}` : '';
  console.log(`${cluster}: role ${r.role} dropped${r.sessionsEnded > 0 ? ` (${r.sessionsEnded} session(s) ended)` : ''}${kept}`);
}

/** `connect --user NAME` works: the stored password of a role dbaas made (the superuser's and app's included). */
function passwordStored(secrets: ReturnType<typeof readClusterSecrets> | undefined, role: RoleRow): boolean {
  if (!secrets) return false;
  if (role.name === SUPERUSER) return true;
  if (role.name === APP_USER) return secrets.app !== undefined;
  return !role.service && storedRoleIn(secrets, role.name) !== undefined;
}

export async function userListCommand(cluster: string, o: { json: boolean }): Promise<void> {
  const inv = await liveClusterInventory(cluster);
  const roles = await withClusterSql(inv, cluster, listRoles);
  let secrets: ReturnType<typeof readClusterSecrets> | undefined;
  try {
    secrets = readClusterSecrets(resolvePaths(), cluster);
  } catch {
    secrets = undefined;
  }
  const rows = roles.map((r) => ({ ...r, passwordStored: passwordStored(secrets, r) }));
  if (o.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const t = table(['role', 'access', 'databases', 'made by', '`connect --user`']);
  for (const r of rows) {
    const access = r.superuser ? 'superuser' : r.readonly ? 'read-only' : 'read-write';
    t.push([r.name, access, r.databases.join(', ') || '-', r.service ? 'dbaas' : 'user', r.passwordStored ? 'yes' : 'no']);
  }
  console.log(t.toString());
}
