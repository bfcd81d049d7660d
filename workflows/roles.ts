/**
 * CreateUser, RotateUser and DropUser (`dbaas user create|rotate|drop`), under the cluster's
 * lease. The password is made inside the activity from this run's id (a retry keeps it) and kept
 * with the cluster's secrets: nothing secret is an input, a result or a step's detail. A login
 * with it through rw, and through the pooler when the cluster has one, proves the change.
 */
import { workflowInfo } from '@temporalio/workflow';
import {
  createUserInputProblem, createUserRefusal, dropUserRefusal, rotateUserRefusal, userRoleProblem,
  type CreateUserInput, type UserRoleInput,
} from '../common/db-objects';
import { leaseStep } from '../common/lease';
import { APP_DATABASE } from '../common/service-users';
import { quick } from './activity-options';
import { checkInput } from './databases';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { checkedEndpoints, type SqlEndpoints } from './sql-endpoints';
import { POOLER_AUTH_STEP } from './step-names';
import { Steps } from './steps';

export interface CreateUserResult {
  cluster: string;
  role: string;
  database: string;
  readonly: boolean;
  /** A login through the pooler was proven. */
  pooled: boolean;
}

export interface RotateUserResult {
  cluster: string;
  role: string;
  pooled: boolean;
}

export interface DropUserResult {
  cluster: string;
  role: string;
  sessionsEnded: number;
  /** Databases where what it owned went to the database's owner. */
  reassignedIn: string[];
}

const loginSteps = (role: string) => ({
  rw: `log in as ${role} through rw`,
  pooledRw: `log in as ${role} through the pooler in front of rw`,
  pooledRo: `log in as ${role} through the pooler in front of ro`,
});
/** The steps of proveLogins, in order. */
const loginPlan = (role: string): string[] => {
  const s = loginSteps(role);
  return [s.rw, POOLER_AUTH_STEP, s.pooledRw, s.pooledRo];
};

/**
 * The new password at work: a login through rw, then the pooler's lookup function in every
 * database and a login through each pooler. Those logins also hand PgBouncer the role's new SCRAM
 * keys, which it uses for the server connections it opens later for sessions already open.
 * Through ro the login waits for a replica to replay the new verifier.
 */
async function proveLogins(steps: Steps, cluster: string, role: string, at: SqlEndpoints): Promise<boolean> {
  const s = loginSteps(role);
  await steps.run(s.rw, () => quick.proveRoleLogin({ cluster, port: at.rwPort, role, pooled: false }));
  if (!at.poolers) {
    for (const name of [POOLER_AUTH_STEP, s.pooledRw, s.pooledRo]) steps.skip(name, 'no poolers');
    return false;
  }
  await steps.run(POOLER_AUTH_STEP, () => quick.ensurePoolerAuth({ cluster, rwPort: at.rwPort }));
  await steps.run(s.pooledRw, () => quick.proveRoleLogin({ cluster, port: at.pooledRwPort, role, pooled: true }));
  if (at.replicas) await steps.run(s.pooledRo, () => quick.proveRoleLogin({ cluster, port: at.pooledRoPort, role, pooled: true }));
  else steps.skip(s.pooledRo, 'no replica runs: ro has no server');
  return true;
}

function checkRoleInput(i: UserRoleInput): void {
  checkNames({ clusters: [i.cluster] });
  checkInput(userRoleProblem(i.role));
}

export async function createUser(input: CreateUserInput): Promise<CreateUserResult> {
  checkNames({ clusters: [input.cluster] });
  checkInput(createUserInputProblem(input));
  const { cluster, role } = input;
  const database = input.database ?? APP_DATABASE;
  const readonly = input.readonly === true;
  const check = `check that ${cluster} has no role ${role} and has database ${database}`;
  const make = `create role ${role} (${readonly ? 'read-only: SELECT on its database' : 'read-write'}, CONNECT on ${database}; its password kept in the secrets)`;
  const steps = new Steps('create-user', cluster, [leaseStep(cluster), check, make, ...loginPlan(role)]);
  return withClusterLease(steps, cluster, async () => {
    const at = await steps.run(check, () => checkedEndpoints(cluster, async (rwPort) =>
      createUserRefusal(input, await quick.roleFacts({ cluster, rwPort, role }), await quick.databaseFacts({ cluster, rwPort, database }))));
    await steps.run(make, () => quick.createUserRole({ cluster, rwPort: at.rwPort, role, database, readonly, setBy: workflowInfo().runId }));
    const pooled = await proveLogins(steps, cluster, role, at);
    return { cluster, role, database, readonly, pooled };
  });
}

export async function rotateUser(input: UserRoleInput): Promise<RotateUserResult> {
  checkRoleInput(input);
  const { cluster, role } = input;
  const check = `check that ${cluster} has role ${role}, able to log in`;
  const set = `set a new password for ${role} (a SCRAM verifier; the password kept in the secrets)`;
  const steps = new Steps('rotate-user', cluster, [leaseStep(cluster), check, set, ...loginPlan(role)]);
  return withClusterLease(steps, cluster, async () => {
    const at = await steps.run(check, () => checkedEndpoints(cluster, async (rwPort) => rotateUserRefusal(input, await quick.roleFacts({ cluster, rwPort, role }))));
    await steps.run(set, () => quick.rotateUserPassword({ cluster, rwPort: at.rwPort, role, setBy: workflowInfo().runId }));
    return { cluster, role, pooled: await proveLogins(steps, cluster, role, at) };
  });
}

export async function dropUser(input: UserRoleInput): Promise<DropUserResult> {
  checkRoleInput(input);
  const { cluster, role } = input;
  const check = `check that ${cluster} has role ${role}, owning no database`;
  const drop = `drop role ${role} (its sessions end; what it owns goes to each database's owner)`;
  const steps = new Steps('drop-user', cluster, [leaseStep(cluster), check, drop]);
  return withClusterLease(steps, cluster, async () => {
    const { rwPort } = await steps.run(check, () => checkedEndpoints(cluster, async (port) => dropUserRefusal(input, await quick.roleFacts({ cluster, rwPort: port, role }))));
    const r = await steps.run(drop, () => quick.dropUserRole({ cluster, rwPort, role }));
    return { cluster, role, sessionsEnded: r.sessionsEnded, reassignedIn: r.reassignedIn };
  });
}
