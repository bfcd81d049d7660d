/**
 * Fakes of the database and role activities over an in-memory catalog, for the db/user workflow
 * tests: each change is idempotent like the real one, a change can fail once after it took effect
 * (a worker that died before reporting it), and each change records who held the cluster's lease.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DatabaseFacts, RoleFacts } from '../../common/db-objects';
import { leaseWorkflowId, mainHolder, type LeaseState } from '../../common/lease';
import { TASK_QUEUE } from '../../common/task-queues';
import type { ExtraActivity } from './run-with-fakes';

export interface FakeCatalog {
  databases: Map<string, { owner: string; sessions: number }>;
  roles: Map<string, { readonly: boolean; database: string; setBy: string; login: boolean }>;
  /** Per change activity, the lease holder's operation and workflow id while it ran. */
  leaseSeen: { activity: string; operation?: string; holderIsCaller: boolean }[];
  /** Every setBy a password activity got. */
  setBy: string[];
}

export function fakeCatalog(): FakeCatalog {
  return {
    databases: new Map([['postgres', { owner: 'postgres', sessions: 1 }], ['app', { owner: 'app', sessions: 0 }]]),
    roles: new Map(),
    leaseSeen: [],
    setBy: [],
  };
}

async function recordLease(env: TestWorkflowEnvironment, cat: FakeCatalog, activity: string): Promise<void> {
  const info = Context.current().info;
  const id = leaseWorkflowId('orders', info.taskQueue, TASK_QUEUE);
  const state = await env.client.workflow.getHandle(id).query<LeaseState>('leaseState');
  const holder = mainHolder(state);
  cat.leaseSeen.push({ activity, operation: holder?.operation, holderIsCaller: holder?.workflowId === info.workflowExecution?.workflowId });
}

/** `failOnceAfter`: these activities fail (retryably) on their first attempt, after their change took effect. */
export function catalogActivities(env: TestWorkflowEnvironment, cat: FakeCatalog, failOnceAfter: string[] = []): Record<string, ExtraActivity> {
  const change = <A>(name: string, fn: (a: A) => unknown) => async (a: A) => {
    await recordLease(env, cat, name);
    const r = fn(a);
    if (failOnceAfter.includes(name) && Context.current().info.attempt === 1) throw ApplicationFailure.retryable(`${name}: worker lost after the change (injected)`, 'Injected');
    return r;
  };
  const dbFacts = (name: string): DatabaseFacts => {
    const d = cat.databases.get(name);
    return d ? { exists: true, owner: d.owner, sessions: d.sessions } : { exists: false, owner: null, sessions: 0 };
  };
  const roleFacts = (name: string): RoleFacts => {
    const r = cat.roles.get(name);
    const owns = [...cat.databases].filter(([, d]) => d.owner === name).map(([n]) => n);
    return r ? { exists: true, canLogin: r.login, ownsDatabases: owns, databases: [r.database] } : { exists: false, canLogin: false, ownsDatabases: [], databases: [] };
  };
  return {
    databaseFacts: async (a: { database: string }) => dbFacts(a.database),
    roleFacts: async (a: { role: string }) => roleFacts(a.role),
    createDatabase: change('createDatabase', (a: { database: string; owner?: string }) => {
      const created = !cat.databases.has(a.database);
      cat.databases.set(a.database, { owner: a.owner ?? 'postgres', sessions: 0 });
      return { created };
    }),
    dropDatabase: change('dropDatabase', (a: { database: string }) => {
      const before = dbFacts(a.database);
      cat.databases.delete(a.database);
      return { dropped: before.exists, sessionsEnded: before.sessions };
    }),
    createUserRole: change('createUserRole', (a: { role: string; database: string; readonly: boolean; setBy: string }) => {
      cat.setBy.push(a.setBy);
      const created = !cat.roles.has(a.role);
      cat.roles.set(a.role, { readonly: a.readonly, database: a.database, setBy: a.setBy, login: true });
      return { created };
    }),
    rotateUserPassword: change('rotateUserPassword', (a: { role: string; setBy: string }) => {
      cat.setBy.push(a.setBy);
      const r = cat.roles.get(a.role)!;
      const same = r.setBy === a.setBy;
      r.setBy = a.setBy;
      return { verifier: same ? 'unchanged' : 'set' };
    }),
    dropUserRole: change('dropUserRole', (a: { role: string }) => {
      const dropped = cat.roles.delete(a.role);
      return { dropped, sessionsEnded: dropped ? 2 : 0, reassignedIn: dropped ? ['app'] : [] };
    }),
    proveRoleLogin: async (a: { role: string }) => {
      if (!cat.roles.has(a.role)) throw ApplicationFailure.nonRetryable(`no role ${a.role}`, 'Injected');
    },
  };
}
