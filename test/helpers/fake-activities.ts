/** Fake activities for workflow-logic tests: record calls, fail on demand. No I/O. */
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { ClusterPorts } from '../../common/spec';
import type { ClusterDescription } from '../../activities/cluster';
import type { ClusterSnapshot } from '../../common/events';

export interface FakeOptions {
  /** Activity name → error type to throw (non-retryable) every time it is called. */
  failOn?: Partial<Record<keyof Activities, string>>;
  /** What describeCluster returns (default: a healthy 3-member cluster, pg-0 leader). */
  describe?: Partial<ClusterDescription>;
  /** What exists before the run (default: nothing), by member / resource name. */
  existing?: Partial<Record<keyof FakeWorld, string[]>>;
  /** Containers that removeCluster fails to remove (so "something is left" can be tested). */
  undeletable?: string[];
  /** The cluster's secrets file exists before the run (kept by `delete --keep-data`). */
  secretsExist?: boolean;
}

/**
 * What the fake activities have made, so a step that looks at the cluster sees what earlier
 * steps (or `existing`) created and later ones removed. Containers are named by member
 * (`pg-0`, `haproxy`, `pgbouncer-rw`), volumes `<member>-data` and `backup-repo`.
 */
export interface FakeWorld {
  containers: Set<string>;
  networks: Set<string>;
  volumes: Set<string>;
}

/** The footprint of a healthy 3-member cluster with backups and poolers, for `existing`. */
export const existingCluster: Record<keyof FakeWorld, string[]> = {
  containers: ['etcd-0', 'pg-0', 'pg-1', 'pg-2', 'haproxy', 'pgbouncer-rw', 'pgbouncer-ro'],
  networks: ['orders'],
  volumes: ['etcd-0-data', 'pg-0-data', 'pg-1-data', 'pg-2-data', 'backup-repo'],
};

export const healthyCluster: ClusterDescription = {
  cluster: 'orders',
  settings: { profile: 'default', sync: false, etcdMembers: 1 },
  members: [
    { name: 'pg-0', role: 'leader', readOnly: false, state: 'running', running: true },
    { name: 'pg-1', role: 'replica', readOnly: false, state: 'running', running: true },
    { name: 'pg-2', role: 'replica', readOnly: false, state: 'running', running: true },
  ],
  namesInUse: ['pg-0', 'pg-1', 'pg-2'],
  leader: 'pg-0',
  ports: { rw: 25432, ro: 25433, stats: 25434, pooledRw: 25446, pooledRo: 25447 },
};

/** What the ClusterWatch's observeCluster fake returns: the healthy cluster above, all running. */
export function healthySnapshot(at = Date.now()): ClusterSnapshot {
  return {
    at,
    patroniAnswered: true,
    members: healthyCluster.members.map((m) => ({
      name: m.name,
      container: 'running' as const,
      exitCode: 0,
      finishedAt: '0001-01-01T00:00:00Z',
      patroni: { role: m.role === 'leader' ? 'leader' as const : 'replica' as const, state: 'running', timeline: 1, lag: m.role === 'leader' ? undefined : 0 },
    })),
  };
}

/**
 * The ClusterWatch that CreateCluster starts keeps polling in the background of a create test;
 * its activities are not recorded, so the calls show the create's own plan.
 */
const BACKGROUND = new Set(['observeCluster', 'restartMemberContainer', 'reinitializeMember', 'publishScrapeTargets']);

export interface Fake {
  activities: Activities;
  /** Each call's first argument; `more`, the others (an activity of several arguments). */
  calls: { name: string; arg: unknown; more?: unknown[] }[];
  names(): string[];
  world: FakeWorld;
}

/** Removes everything but the undeletable containers and the kept volumes (data with keepData, the repository unless purged); returns what went. */
function removeAll(world: FakeWorld, keep: { keepData: boolean; keepBackups?: boolean }, undeletable: string[]): { containers: number; networks: number; volumes: number } {
  const gone = { containers: 0, networks: world.networks.size, volumes: 0 };
  for (const c of [...world.containers]) {
    if (undeletable.includes(c)) continue;
    world.containers.delete(c);
    gone.containers++;
  }
  world.networks.clear();
  for (const v of [...world.volumes]) {
    if (v === 'backup-repo' ? keep.keepBackups !== false : keep.keepData) continue;
    world.volumes.delete(v);
    gone.volumes++;
  }
  return gone;
}

export function fakeActivities(o: FakeOptions = {}): Fake {
  const calls: { name: string; arg: unknown; more?: unknown[] }[] = [];
  const ports: ClusterPorts = { rw: 25432, ro: 25433, stats: 25434, pooledRw: 25446, pooledRo: 25447 };
  const world: FakeWorld = {
    containers: new Set(o.existing?.containers), networks: new Set(o.existing?.networks), volumes: new Set(o.existing?.volumes),
  };
  const startMember = async (a: unknown): Promise<undefined> => {
    const { member } = a as { member: string };
    world.containers.add(member);
    world.volumes.add(`${member}-data`);
    return undefined;
  };
  const impl: Record<string, (arg: unknown) => Promise<unknown>> = {
    assertClusterAbsent: async () => undefined,
    placementHosts: async () => [{ name: 'local', load: 0, swarmManager: false }],
    ensureClusterSecrets: async () => undefined,
    ensureClusterCa: async () => undefined,
    deleteClusterSecrets: async () => undefined,
    allocatePorts: async () => ports,
    releasePorts: async () => undefined,
    createClusterNetwork: async (cluster) => void world.networks.add(cluster as string),
    startEtcdMember: startMember,
    waitForEtcdHealthy: async () => undefined,
    enableEtcdAuth: async () => ({ alreadyEnabled: false }),
    startPostgresMember: startMember,
    replacePostgresMember: async () => ({ replaced: true }),
    restoreMemberData: async () => ({ seconds: 1 }),
    removeRestoreHelper: async () => undefined,
    waitForBootstrapClaimed: async () => 'initializing new cluster',
    waitForLeader: async () => 'pg-0',
    waitForReplicaStreaming: async () => ({ lag: 0 }),
    startHaproxy: async () => void world.containers.add('haproxy'),
    waitForHaproxyBackends: async () => ({ rwUp: ['pg-0'], roUp: ['pg-1', 'pg-2'] }),
    verifyReadWrite: async () => ({ writtenOn: 'pg-0', readOn: 'pg-1', readInRecovery: true }),
    removeCluster: async (a) => removeAll(world, a as { keepData: boolean; keepBackups?: boolean }, o.undeletable ?? []),
    clusterHasRepository: async () => world.volumes.has('backup-repo'),
    recordClusterDeleted: async () => undefined,
    clusterVolumes: async () => [...world.volumes].sort().map((name) => ({
      name, role: name.startsWith('etcd') ? 'etcd' : name === 'backup-repo' ? 'backup' : 'postgres', member: name.replace(/-data$/, ''),
    })),
    removeClusterVolumes: async (a) => {
      const { keep } = a as { keep: string[] };
      const gone = [...world.volumes].filter((v) => !keep.includes(v));
      for (const v of gone) world.volumes.delete(v);
      return gone.length;
    },
    clusterSecretsExist: async () => o.secretsExist === true,
    servingGeneration: async () => 1,
    clusterFootprint: async () => ({ containers: world.containers.size, networks: world.networks.size, volumes: world.volumes.size }),
    clusterPostgresVersion: async () => null,
    describeCluster: async () => ({ ...healthyCluster, ...o.describe }),
    reconfigureHaproxy: async () => ({ members: [], changed: true }),
    drainHaproxyServer: async () => ({ sessionsLeft: 0 }),
    putHaproxyMemberInService: async () => undefined,
    poolerContainers: async () => [...world.containers].filter((c) => c.startsWith('pgbouncer-')).sort(),
    removePoolers: async (a) => {
      for (const m of (a as { members: string[] }).members) world.containers.delete(m);
    },
    proveReadOnMember: async () => ({ attempts: 2 }),
    stopMember: async (a) => void world.containers.delete((a as { member: string }).member),
    forgetRemovedMember: async () => ({ deleted: true }),
    waitForMemberGone: async () => undefined,
    removeMemberVolume: async (a) => void world.volumes.delete(`${(a as { member: string }).member}-data`),
    ensurePoolerAuth: async () => undefined,
    ensureAppRole: async () => ({ password: 'set', databaseCreated: true }),
    startPgbouncer: async (a) => void world.containers.add(`pgbouncer-${(a as { kind: string }).kind}`),
    verifyPooledEndpoints: async () => undefined,
    ensureMonitorRole: async () => ({ password: 'set' }),
    addPoolerStatsUser: async () => [],
    startMetrics: async () => {
      const created = !world.containers.has('metrics');
      world.containers.add('metrics');
      return { created };
    },
    metricsHosts: async () => (world.containers.has('metrics') ? ['local'] : []),
    removeMetrics: async () => void world.containers.delete('metrics'),
    verifyMetrics: async () => undefined,
    resizePoolers: async () => ({ limits: { maxConnections: 100, reservedConnections: 3 }, pool: { defaultPoolSize: 40, reservePoolSize: 5 }, reloaded: [] }),
    poolerSizes: async () => ({ limits: { maxConnections: 100, reservedConnections: 3 }, pool: { defaultPoolSize: 40, reservePoolSize: 5 } }),
    ensureBackupRepository: async () => void world.volumes.add('backup-repo'),
    leaderHost: async () => 'local',
    createStanza: async () => ({ member: 'pg-0' }),
    archiveCurrentWal: async () => ({ member: 'pg-0' }),
    deleteBackupSettings: async () => undefined,
    purgeRepositoryStanza: async () => undefined,
    backupStandby: async () => null,
    deleteClusterBackupSchedules: async () => [],
    waitForSyncApplied: async () => ({ mode: 'on', leader: 'pg-0', syncStandby: 'pg-1' }),
    observeCluster: async () => healthySnapshot(),
    restartMemberContainer: async () => ({ restarted: true }),
    reinitializeMember: async () => ({ accepted: true, answer: 'reinitialize started' }),
    publishScrapeTargets: async () => ({ targets: 4, changed: true }),
    removeScrapeTargets: async () => undefined,
  };
  const wrapped: Record<string, (arg: unknown) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(impl)) {
    wrapped[name] = async (arg: unknown, ...more: unknown[]) => {
      if (!BACKGROUND.has(name)) calls.push({ name, arg, ...(more.length > 0 ? { more } : {}) });
      const failType = o.failOn?.[name as keyof Activities];
      if (failType) throw ApplicationFailure.create({ type: failType, message: `${name} failed (injected)`, nonRetryable: true });
      return fn(arg);
    };
  }
  return { activities: wrapped as unknown as Activities, calls, names: () => calls.map((c) => c.name), world };
}
