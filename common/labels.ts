/**
 * Docker labels dbaas puts on what it makes: how a retried activity, the watch and the CLI find a
 * cluster's containers, volumes and networks again.
 */
import { repositoryVolumeName } from './resource-names';

export const LABEL_CLUSTER = 'dbaas.cluster';
export const LABEL_ROLE = 'dbaas.role';
export const LABEL_MEMBER = 'dbaas.member';
export const LABEL_PORT_PREFIX = 'dbaas.port.';
/** On a Postgres member: the ClusterSettings it was made with (JSON). */
export const LABEL_SPEC = 'dbaas.spec';
/** On a Postgres member: `true` when it was made as a read-only member (Patroni's nofailover tag). */
export const LABEL_NOFAILOVER = 'dbaas.nofailover';
/**
 * On a PostgreSQL member of a generation after the first (a blue/green upgrade's new cluster):
 * its generation, 2, 3, … Members without it are generation 1. See common/generations.ts.
 */
export const LABEL_GENERATION = 'dbaas.generation';
/** The test run that made the resource (see activities/docker.ts withRunLabel). */
export const LABEL_TEST_RUN = 'dbaas.test-run';
/**
 * On a one-shot container that reads a volume repository: the cluster it read, for `docker ps` and
 * clean-up. Not LABEL_CLUSTER: a reader must never make a deleted cluster look live.
 */
export const LABEL_READS_REPOSITORY = 'dbaas.reads-repository';

export type Role = 'etcd' | 'postgres' | 'haproxy' | 'pgbouncer' | 'metrics' | 'network' | 'backup' | 'upgrade';

/** The containers of a front door, beside each HAProxy: they come and go with it (drain, fencing). */
export const FRONT_DOOR_ROLES: readonly string[] = ['haproxy', 'pgbouncer', 'metrics'];
export const isFrontDoor = (l: Record<string, string>): boolean => FRONT_DOOR_ROLES.includes(l[LABEL_ROLE]);

/** On a member that runs `pgbackrest server` (a backup can read its files as a standby): its port. */
export const LABEL_BACKUP_SERVER = 'dbaas.backup-server';

/** On a member that reaches its repository without mounting it: `s3` (its bucket) or `host` (the repository host). */
export const LABEL_REPOSITORY = 'dbaas.repository';

/** The container (as `docker ps` lists it) mounts the cluster's backup repository. */
export function mountsRepository(c: { Mounts?: { Name?: string }[] }, cluster: string): boolean {
  return (c.Mounts ?? []).some((m) => m.Name === repositoryVolumeName(cluster));
}

export function labels(cluster: string, role: Role, member?: string): Record<string, string> {
  const l: Record<string, string> = { [LABEL_CLUSTER]: cluster, [LABEL_ROLE]: role };
  if (member !== undefined) l[LABEL_MEMBER] = member;
  return l;
}
