/** Whole-cluster activities: existence check and removal of everything labelled with the cluster. */
import type Docker from 'dockerode';
import {
  LABEL_CLUSTER,
  LABEL_MEMBER,
  LABEL_NOFAILOVER,
  LABEL_PORT_PREFIX,
  LABEL_ROLE,
  LABEL_SPEC,
  reachesRepository,
} from '../common/labels';
import type { MemberView } from '../common/members';
import type { ClusterResources, KeptVolume } from '../common/kept-data';
import { portsFromBase } from '../common/ports';
import { settingsFromDcs, type ClusterPorts, type ClusterSettings } from '../common/spec';
import { clusterView } from './patroni';
import { readDcsConfig } from './dcs-config';
import { removeClusterResources, type RemovalReport } from './docker';
import { ErrorTypes, finalError } from './errors';
import { POSTGRES_STOP_TIMEOUT_SEC } from './patroni';
import type { Paths } from '../common/paths';
import { keptRepositoryName, type HostLocation, type S3Location } from '../common/repository';
import { settingsRepositories } from './backup-settings';

export interface ClusterFootprint {
  containers: number;
  networks: number;
  volumes: number;
}

export async function clusterFootprint(docker: Docker, cluster: string): Promise<ClusterFootprint> {
  const filters = { label: [`${LABEL_CLUSTER}=${cluster}`] };
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: c.length, networks: n.length, volumes: (v.Volumes ?? []).length };
}

/** Containers or network exist. Volumes alone are data kept by `delete --keep-data`: create reuses them. */
export async function clusterIsLive(docker: Docker, cluster: string): Promise<boolean> {
  const f = await clusterFootprint(docker, cluster);
  return f.containers > 0 || f.networks > 0;
}

export interface ClusterDescription {
  cluster: string;
  /** Profile and sync from Patroni's DCS config (set-profile / set-sync change them); the label when no member answers. */
  settings: ClusterSettings;
  /** Postgres members by container (pg-0, pg-1, ...) with Patroni's view of each. */
  members: (MemberView & { state: string; running: boolean })[];
  /** Member names still holding a container or a volume (never reuse them while data exists). */
  namesInUse: string[];
  leader: string | null;
  ports: ClusterPorts | null;
}

/** The cluster as Docker labels and Patroni's /cluster see it. */
export async function describeCluster(docker: Docker, cluster: string): Promise<ClusterDescription> {
  const filters = { label: [`${LABEL_CLUSTER}=${cluster}`] };
  const [cs, vs] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listVolumes({ filters })]);
  const pg = cs.filter((c) => c.Labels[LABEL_ROLE] === 'postgres');
  if (pg.length === 0) throw finalError(ErrorTypes.ClusterNotFound, `no cluster named ${cluster}`);
  const specLabel = pg.map((c) => c.Labels[LABEL_SPEC]).find(Boolean);
  if (!specLabel) throw finalError(ErrorTypes.ClusterNotFound, `cluster ${cluster} has no ${LABEL_SPEC} label (made by an older dbaas); recreate it`);
  const created = JSON.parse(specLabel) as ClusterSettings;
  const names = pg.map((c) => c.Labels[LABEL_MEMBER]).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const view = (await clusterView(docker, cluster, names)) ?? [];
  const leaderName = view.find((v) => v.role === 'leader')?.name;
  // The label says what the cluster was created with; the DCS what it runs with now.
  const dcs = await readDcsConfig(docker, cluster, [...(leaderName ? [leaderName] : []), ...names]);
  // Backups are on once members mount the repository (`backup enable` adds it member by member).
  const backups = pg.some((c) => reachesRepository(c, cluster));
  const settings = { ...(dcs ? settingsFromDcs(dcs.config, created) : created), backups };
  const members = names.map((name) => {
    const c = pg.find((x) => x.Labels[LABEL_MEMBER] === name);
    const v = view.find((x) => x.name === name);
    return {
      name,
      readOnly: v?.tags?.nofailover === true || c?.Labels[LABEL_NOFAILOVER] === 'true',
      role: v?.role ?? 'unknown',
      state: v?.state ?? 'unknown',
      running: c?.State === 'running',
    };
  });
  const hap = cs.find((c) => c.Labels[LABEL_ROLE] === 'haproxy');
  const base = hap?.Labels[`${LABEL_PORT_PREFIX}base`];
  const volumeMembers = (vs.Volumes ?? []).map((v) => v.Labels?.[LABEL_MEMBER] ?? '').filter(Boolean);
  return {
    cluster,
    settings,
    members,
    namesInUse: [...new Set([...names, ...volumeMembers])],
    leader: view.find((v) => v.role === 'leader')?.name ?? null,
    ports: base ? portsFromBase(Number(base)) : null,
  };
}

/** The cluster's volumes with their role and member, by name. */
/** The cluster's volumes, and its S3 repository (or its stanza on the repository host) as if it were one (role backup): what a delete keeps, what a create finds. */
export async function clusterVolumes(docker: Docker, paths: Paths, cluster: string): Promise<KeptVolume[]> {
  const vs = await docker.listVolumes({ filters: { label: [`${LABEL_CLUSTER}=${cluster}`] } });
  const s3 = settingsRepositories(paths).filter((r) => r.cluster === cluster).map(keptRepositoryEntry);
  return [...(vs.Volumes ?? []).map(keptVolume), ...s3].sort((a, b) => a.name.localeCompare(b.name));
}

/** An S3 repository (or a stanza on the repository host) in the list of what a cluster keeps: no volume, but kept and purged as the repository volume is. */
const keptRepositoryEntry = (r: { cluster: string; location: S3Location | HostLocation }): KeptVolume => ({ name: keptRepositoryName(r.location, r.cluster), role: 'backup' });

function keptVolume(v: { Name: string; Labels?: Record<string, string> | null }): KeptVolume {
  return { name: v.Name, role: v.Labels?.[LABEL_ROLE] ?? '', ...(v.Labels?.[LABEL_MEMBER] ? { member: v.Labels[LABEL_MEMBER] } : {}) };
}

/**
 * Every cluster any dbaas resource names, with what it has: a live cluster has containers or a
 * network; a deleted one only the volumes its delete kept (data with --keep-data, the backup
 * repository unless --purge-backups).
 */
export async function clusterInventory(docker: Docker, paths: Paths): Promise<ClusterResources[]> {
  const filters = { label: [LABEL_CLUSTER] };
  const [cs, ns, vs] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const byName = new Map<string, ClusterResources>();
  const of = (name: string): ClusterResources => {
    let r = byName.get(name);
    if (!r) byName.set(name, (r = { name, containers: 0, networks: 0, volumes: [] }));
    return r;
  };
  for (const c of cs) of(c.Labels[LABEL_CLUSTER]).containers++;
  for (const n of ns) if (n.Labels?.[LABEL_CLUSTER]) of(n.Labels[LABEL_CLUSTER]).networks++;
  for (const v of vs.Volumes ?? []) if (v.Labels?.[LABEL_CLUSTER]) of(v.Labels[LABEL_CLUSTER]).volumes.push(keptVolume(v));
  for (const r of settingsRepositories(paths)) of(r.cluster).volumes.push(keptRepositoryEntry(r));
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function createClusterActivities(docker: Docker, paths: Paths) {
  return {
    async assertClusterAbsent(cluster: string): Promise<void> {
      if (await clusterIsLive(docker, cluster)) {
        throw finalError(ErrorTypes.ClusterExists, `cluster ${cluster} already exists`);
      }
    },

    /** Everything of the cluster but the kept volumes; keepBackups unset keeps the repository (the safe default). */
    async removeCluster(i: { cluster: string; keepData: boolean; keepBackups?: boolean }): Promise<RemovalReport> {
      return removeClusterResources(docker, i.cluster, { data: i.keepData, backups: i.keepBackups ?? true }, POSTGRES_STOP_TIMEOUT_SEC);
    },

    async describeCluster(cluster: string): Promise<ClusterDescription> {
      return describeCluster(docker, cluster);
    },

    /** The cluster's volumes, with their role and member: before a create, the data kept by `delete --keep-data`. */
    async clusterVolumes(cluster: string): Promise<KeptVolume[]> {
      return clusterVolumes(docker, paths, cluster);
    },

    /** A failed create's compensation: the cluster's volumes except those it found (kept data stays). Containers must be gone. */
    async removeClusterVolumes(i: { cluster: string; keep: string[] }): Promise<number> {
      const vs = await docker.listVolumes({ filters: { label: [`${LABEL_CLUSTER}=${i.cluster}`] } });
      let removed = 0;
      for (const v of vs.Volumes ?? []) {
        if (i.keep.includes(v.Name)) continue;
        try {
          await docker.getVolume(v.Name).remove();
          removed++;
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        }
      }
      return removed;
    },

    async clusterFootprint(cluster: string): Promise<ClusterFootprint> {
      return clusterFootprint(docker, cluster);
    },
  };
}
