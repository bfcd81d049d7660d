/**
 * AddAppRole: the least-privilege `app` role and database for a cluster made before CreateCluster
 * made them. Idempotent: on a cluster that has them it changes nothing (the password already
 * matches) and only proves the login.
 */
import { quick } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { APP_ROLE_STEP, POOLER_AUTH_STEP } from './step-names';


export interface AddAppRoleResult {
  cluster: string;
  /** The database app was created by this run (false: it was there). */
  databaseCreated: boolean;
  /** The role's password was set by this run (false: it already matched). */
  passwordSet: boolean;
}

export async function addAppRole(cluster: string): Promise<AddAppRoleResult> {
  checkNames({ clusters: [cluster] });
  const steps = new Steps('add-app-role', cluster, [
    leaseStep(cluster),
    'check the cluster has a leader and endpoints',
    APP_ROLE_STEP,
    POOLER_AUTH_STEP,
  ]);
  return withClusterLease(steps, cluster, async () => {
    const { rwPort, poolers } = await steps.run('check the cluster has a leader and endpoints', async () => {
      const d = await quick.describeCluster(cluster);
      if (!d.leader) refuse(`cluster ${cluster} has no leader; cannot create the app role`);
      if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
      return { rwPort: d.ports.rw, poolers: (await quick.poolerContainers(cluster)).length > 0 };
    });
    const r = await steps.run(APP_ROLE_STEP, () => quick.ensureAppRole({ cluster, rwPort }));
    // Pooled logins to database app need the lookup function there.
    if (poolers) await steps.run(POOLER_AUTH_STEP, () => quick.ensurePoolerAuth({ cluster, rwPort }));
    else steps.skip(POOLER_AUTH_STEP, 'no poolers (`cluster add-poolers` adds them, with the function)');
    return { cluster, databaseCreated: r.databaseCreated, passwordSet: r.password === 'set' };
  });
}
