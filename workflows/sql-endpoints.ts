/** Where the database and role workflows reach the cluster's SQL: rw (the leader), and the pooled ports when it has poolers. */
import { quick } from './activity-options';
import { refuse } from './refusals';

export interface SqlEndpoints {
  rwPort: number;
  pooledRwPort: number;
  pooledRoPort: number;
  /** PgBouncer runs: logins through it need the auth_query function in the database. */
  poolers: boolean;
  /** A replica runs: the pooled ro port has a server behind it. */
  replicas: boolean;
}

/** Refused (exit 2) without a leader or HAProxy: nothing could take the change. */
export async function sqlEndpoints(cluster: string): Promise<SqlEndpoints> {
  const d = await quick.describeCluster(cluster);
  if (!d.leader) refuse(`cluster ${cluster} has no leader; nothing can be changed in it now`);
  if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
  return {
    rwPort: d.ports.rw,
    pooledRwPort: d.ports.pooledRw,
    pooledRoPort: d.ports.pooledRo,
    poolers: (await quick.poolerContainers(cluster)).length > 0,
    replicas: d.members.some((m) => m.name !== d.leader && m.running),
  };
}

/** A check step's body: the endpoints, then the refusal `decide` reads from the catalogs through rw (a line: refused, exit 2). */
export async function checkedEndpoints(cluster: string, decide: (rwPort: number) => Promise<string | undefined>): Promise<SqlEndpoints> {
  const e = await sqlEndpoints(cluster);
  const refusal = await decide(e.rwPort);
  if (refusal) refuse(refusal);
  return e;
}
