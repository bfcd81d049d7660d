/**
 * CreateDatabase and DropDatabase (`dbaas db create|drop`), under the cluster's lease. The check
 * step reads the catalogs through rw and refuses what common/db-objects.ts refuses; the change
 * steps are idempotent, so a retry after a worker died finishes the same change.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import {
  createDatabaseInputProblem, createDatabaseRefusal, droppableDatabaseProblem, dropDatabaseRefusal,
  type CreateDatabaseInput, type DropDatabaseInput,
} from '../common/db-objects';
import { leaseStep } from '../common/lease';
import { SUPERUSER } from '../common/service-users';
import { quick } from './activity-options';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { checkedEndpoints } from './sql-endpoints';
import { POOLER_AUTH_STEP } from './step-names';
import { Steps } from './steps';

export interface CreateDatabaseResult {
  cluster: string;
  database: string;
  owner: string;
  /** The pooler's lookup function is in it: logins through the pooled ports work. */
  pooled: boolean;
}

export interface DropDatabaseResult {
  cluster: string;
  database: string;
  /** Sessions connected to it on the leader that the drop ended. */
  sessionsEnded: number;
}

/** Bad input fails for good before any activity (a workflow can be started without the CLI). */
export function checkInput(problem: string | undefined): void {
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
}

export async function createDatabase(input: CreateDatabaseInput): Promise<CreateDatabaseResult> {
  checkNames({ clusters: [input.cluster] });
  checkInput(createDatabaseInputProblem(input));
  const { cluster, database, owner } = input;
  const check = `check that ${cluster} has no database ${database}${owner ? ` and has role ${owner}` : ''}`;
  const make = `create database ${database} (owner ${owner ?? SUPERUSER})`;
  const steps = new Steps('create-database', cluster, [leaseStep(cluster), check, make, POOLER_AUTH_STEP]);
  return withClusterLease(steps, cluster, async () => {
    const at = await steps.run(check, () => checkedEndpoints(cluster, async (rwPort) => createDatabaseRefusal(
      input, await quick.databaseFacts({ cluster, rwPort, database }), owner ? await quick.roleFacts({ cluster, rwPort, role: owner }) : null)));
    await steps.run(make, () => quick.createDatabase({ cluster, rwPort: at.rwPort, database, ...(owner ? { owner } : {}) }));
    if (at.poolers) await steps.run(POOLER_AUTH_STEP, () => quick.ensurePoolerAuth({ cluster, rwPort: at.rwPort }));
    else steps.skip(POOLER_AUTH_STEP, 'no poolers (`cluster add-poolers` adds them, with the function in every database)');
    return { cluster, database, owner: owner ?? SUPERUSER, pooled: at.poolers };
  });
}

export async function dropDatabase(input: DropDatabaseInput): Promise<DropDatabaseResult> {
  checkNames({ clusters: [input.cluster] });
  checkInput(droppableDatabaseProblem(input.database));
  const { cluster, database } = input;
  const check = `check that ${cluster} has database ${database}`;
  const drop = `drop database ${database} (its sessions end)`;
  const steps = new Steps('drop-database', cluster, [leaseStep(cluster), check, drop]);
  return withClusterLease(steps, cluster, async () => {
    const { rwPort } = await steps.run(check, () => checkedEndpoints(cluster, async (port) =>
      dropDatabaseRefusal(input, await quick.databaseFacts({ cluster, rwPort: port, database }))));
    const r = await steps.run(drop, () => quick.dropDatabase({ cluster, rwPort, database }));
    return { cluster, database, sessionsEnded: r.sessionsEnded };
  });
}
