/**
 * All activities, built by a factory that receives their dependencies so tests can inject a
 * Docker client and a state directory of their own.
 */
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { labels } from '../common/labels';
import { createClusterActivities } from './cluster';
import { ensureNetwork } from './docker';
import { createEtcdActivities } from './etcd';
import { createHaproxyActivities } from './haproxy';
import { createPatroniActivities } from './patroni';
import { createPgbouncerActivities } from './pgbouncer';
import { createPortActivities } from './ports';
import { createSecretsActivities } from './secrets';
import { createSqlActivities } from './sql';
import { createSwitchoverActivities } from './switchover';
import { createWatchActivities } from './watch';
import { createDcsConfigActivities } from './dcs-config';
import { createPgbackrestActivities } from './pgbackrest';
import { createScheduleActivities } from './schedules';
import { createBackupCheckActivities } from './backup-checks';
import { createRestoreActivities } from './restore';
import { createLeaseActivities } from './lease';
import { createDeletedClusterActivities } from './deleted-clusters';
import { createCertificateActivities } from './certificates';
import { createAppRoleActivities } from './app-role';
import { createRepositoryMoveActivities } from './repository-host/move';

export interface ActivityDeps {
  docker: Docker;
  paths: Paths;
}

export function createActivities({ docker, paths }: ActivityDeps) {
  return {
    ...createClusterActivities(docker, paths),
    ...createSecretsActivities(paths),
    ...createPortActivities(docker, paths),
    async createClusterNetwork(cluster: string): Promise<void> {
      await ensureNetwork(docker, cluster, labels(cluster, 'network'));
    },
    ...createEtcdActivities(docker, paths),
    ...createPatroniActivities(docker, paths),
    ...createHaproxyActivities(docker, paths),
    ...createSqlActivities(docker, paths),
    ...createPgbouncerActivities(docker, paths),
    ...createAppRoleActivities(paths),
    ...createSwitchoverActivities(docker, paths),
    ...createWatchActivities(docker, paths),
    ...createDcsConfigActivities(docker, paths),
    ...createPgbackrestActivities(docker, paths),
    ...createRepositoryMoveActivities(docker, paths),
    ...createScheduleActivities(),
    ...createBackupCheckActivities(paths),
    ...createRestoreActivities(docker, paths),
    ...createLeaseActivities(),
    ...createDeletedClusterActivities(paths),
    ...createCertificateActivities(docker, paths),
  };
}

export type Activities = ReturnType<typeof createActivities>;
