/**
 * All activities, built by a factory that receives their dependencies so tests can inject a
 * Docker client (or an inventory of hosts) and a state directory of their own.
 */
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { labels } from '../common/labels';
import { localInventory, type Inventory } from './hosts/inventory';
import { servingGeneration } from './generations-file';
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
import { createMemberRestartActivities } from './member-restart';
import { createWatchActivities } from './watch';
import { createDcsConfigActivities } from './dcs-config';
import { createPgbackrestActivities } from './pgbackrest';
import { createBackupRunActivities } from './backup-run';
import { createScheduleActivities } from './schedules';
import { createBackupCheckActivities } from './backup-checks';
import { createRestoreActivities } from './restore';
import { createLeaseActivities } from './lease';
import { createDeletedClusterActivities } from './deleted-clusters';
import { createCertificateActivities } from './certificates';
import { createAppRoleActivities } from './app-role';
import { placementHosts } from './hosts/placement-hosts';
import type { HostOffer } from '../common/placement';
import { createRepositoryMoveActivities } from './repository-host/move';
import { createDrainActivities } from './hosts/drain';
import { createUpgradeActivities } from './upgrade';
import { createParameterActivities } from './parameters';
import { createDatabaseActivities } from './databases';
import { createRoleActivities } from './roles';
import { createRoleDropActivities } from './role-drop';
import { createMemberRebuildActivities } from './member-rebuild';
import { createScrapeTargetActivities } from './scrape-targets';
import { createMetricsActivities } from './metrics';
import { metricsExporterEndpoints } from './exporter-endpoints';

export interface ActivityDeps {
  /** The hosts this worker reaches; by default the engine `docker` (or DOCKER_HOST) names, as host `local`. */
  inventory?: Inventory;
  docker?: Docker;
  paths: Paths;
}

export function createActivities(deps: ActivityDeps) {
  const { paths } = deps;
  // Without a registry (tests' in-process workers): the serving generation still comes from the home's record.
  const inventory = deps.inventory ?? localInventory(deps.docker, (cluster) => servingGeneration(paths, cluster));
  return {
    ...createClusterActivities(inventory, paths),
    ...createSecretsActivities(paths),
    ...createPortActivities(inventory, paths),
    async createClusterNetwork(cluster: string): Promise<void> {
      await ensureNetwork(inventory.engine(), cluster, labels(cluster, 'network'));
    },
    /**
     * A cluster across hosts talks on a swarm overlay (attachable: members are plain containers):
     * made on a manager host's queue, joined by members on every host of the swarm.
     */
    /** The hosts a new cluster's members may go to (common/placement.ts weighs them). */
    async placementHosts(): Promise<HostOffer[]> {
      return placementHosts(inventory, paths);
    },
    async createOverlayNetwork(cluster: string): Promise<void> {
      await ensureNetwork(inventory.engine(), cluster, labels(cluster, 'network'), { overlay: true });
    },
    ...createEtcdActivities(inventory, paths),
    ...createPatroniActivities(inventory, paths),
    ...createHaproxyActivities(inventory, paths),
    ...createSqlActivities(inventory, paths),
    ...createPgbouncerActivities(inventory, paths),
    ...createAppRoleActivities(inventory, paths),
    ...createSwitchoverActivities(inventory, paths),
    ...createMemberRestartActivities(inventory, paths),
    ...createWatchActivities(inventory, paths),
    ...createDcsConfigActivities(inventory, paths),
    ...createPgbackrestActivities(inventory, paths),
    ...createBackupRunActivities(inventory, paths),
    ...createRepositoryMoveActivities(inventory, paths),
    ...createScheduleActivities(),
    ...createBackupCheckActivities(inventory, paths),
    ...createRestoreActivities(inventory, paths),
    ...createLeaseActivities(),
    ...createDeletedClusterActivities(paths),
    ...createCertificateActivities(inventory, paths),
    ...createDrainActivities(inventory),
    ...createUpgradeActivities(inventory, paths),
    ...createParameterActivities(inventory, paths),
    ...createDatabaseActivities(inventory, paths),
    ...createRoleActivities(inventory, paths),
    ...createRoleDropActivities(inventory, paths),
    ...createMemberRebuildActivities(inventory, paths),
    ...createScrapeTargetActivities(inventory, paths, metricsExporterEndpoints(inventory)),
    ...createMetricsActivities(inventory, paths),
  };
}

export type Activities = ReturnType<typeof createActivities>;
