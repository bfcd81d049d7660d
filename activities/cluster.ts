/** Whole-cluster activities: existence check and removal of everything labelled with the cluster. */
import type { Inventory } from './hosts/inventory';
import { LABEL_MEMBER, LABEL_ROLE, LABEL_SPEC } from '../common/labels';
import { LOCAL_HOST, type HostName, type HostVolume } from '../common/inventory';
import type { MemberView } from '../common/members';
import type { KeptVolume } from '../common/kept-data';
import { portsFromBase } from '../common/ports';
import type { LostHostHint } from '../common/host-loss';
import { settingsFromDcs, type ClusterPorts, type ClusterSettings } from '../common/spec';
import { clusterView } from './patroni';
import { readDcsConfig } from './dcs-config';
import { removeClusterContainers, removeClusterNetworksAndVolumes, type RemovalReport } from './docker';
import { ErrorTypes, finalError } from './errors';
import { POSTGRES_STOP_TIMEOUT_SEC } from './patroni';
import type { Paths } from '../common/paths';
import { FIRST_GENERATION } from '../common/generations';
import { forgetGenerations, recordedVolumeGenerations, servingGeneration, writeVolumeGenerations } from './generations-file';
import { clusterFootprint, clusterInventory, clusterIsLive, keptRepositoryEntry, keptVolume, type ClusterFootprint } from './cluster-resources';
import { settingsRepositories } from './backup-settings';
import { versionOf, type PostgresVersion } from '../common/postgres-version';

export { clusterFootprint, clusterInventory, clusterIsLive, type ClusterFootprint };

export interface ClusterDescription {
  cluster: string;
  /** Profile and sync from Patroni's DCS config (set-profile / set-sync change them); the label when no member answers. */
  settings: ClusterSettings;
  /**
   * Postgres members by container (pg-0, pg-1, ...) with Patroni's view of each, and the host each
   * runs on (absent in histories from before hosts: `local`).
   */
  members: (MemberView & { state: string; running: boolean; host?: HostName })[];
  /** The hosts that run the cluster's HAProxy (its front doors); absent in histories from before hosts. */
  frontDoors?: HostName[];
  /** Member names still holding a container or a volume (never reuse them while data exists). */
  namesInUse: string[];
  leader: string | null;
  ports: ClusterPorts | null;
}

/** The cluster as Docker labels and Patroni's /cluster see it (without the lost host's members, when one is named). */
export async function describeCluster(inv: Inventory, cluster: string, lost?: LostHostHint): Promise<ClusterDescription> {
  const [{ members: all, unreachable }, vs] = await Promise.all([inv.membersAndUnreachable(cluster), inv.volumes(cluster)]);
  // Operations name new members from what exists: a host that does not answer may hold some
  // (a cluster is on this machine alone or on added hosts alone: placement never mixes them).
  // The exception is the lost host whose members the caller names (the watch saw them there).
  const unknown = unreachable.filter((h) => h !== lost?.host);
  if (unknown.length > 0 && all.some((m) => m.host !== LOCAL_HOST)) throw new Error(`host ${unknown.join(', ')} does not answer: ${cluster}'s members there cannot be read`);
  const pg = all.filter((m) => m.kind === 'postgres');
  if (pg.length === 0) throw finalError(ErrorTypes.ClusterNotFound, `no cluster named ${cluster}`);
  const created = pg.map((m) => m.createdWith).find((s) => s !== null);
  if (!created) throw finalError(ErrorTypes.ClusterNotFound, `cluster ${cluster} has no ${LABEL_SPEC} label (made by an older dbaas); recreate it`);
  const names = pg.map((m) => m.name);
  const view = (await clusterView(inv, cluster, names)) ?? [];
  const leaderName = view.find((v) => v.role === 'leader')?.name;
  // The label says what the cluster was created with; the DCS what it runs with now.
  const dcs = await readDcsConfig(inv, cluster, [...(leaderName ? [leaderName] : []), ...names]);
  // Backups are on once members mount the repository (`backup enable` adds it member by member).
  const backups = pg.some((m) => m.repository !== null);
  const settings = { ...(dcs ? settingsFromDcs(dcs.config, created) : created), backups };
  const members = names.map((name) => {
    const c = pg.find((x) => x.name === name);
    const v = view.find((x) => x.name === name);
    return {
      name,
      readOnly: v?.tags?.nofailover === true || c?.nofailover === true,
      role: v?.role ?? 'unknown',
      state: v?.state ?? 'unknown',
      running: c?.state === 'running',
      host: c?.host ?? LOCAL_HOST,
    };
  });
  const base = all.find((m) => m.kind === 'haproxy')?.portLabels.base;
  const volumeMembers = vs.map((v) => v.member ?? '').filter(Boolean);
  return {
    cluster,
    settings,
    members,
    namesInUse: [...new Set([...names, ...volumeMembers, ...(lost?.members ?? [])])],
    frontDoors: [...new Set(all.filter((m) => m.kind === 'haproxy').map((m) => m.host))],
    leader: view.find((v) => v.role === 'leader')?.name ?? null,
    ports: base ? portsFromBase(base) : null,
  };
}

/**
 * The cluster's volumes, each data volume with its generation when it is not the first: its label;
 * for one made before volumes were labelled, its member's container's, else what the delete that
 * kept it recorded. `unlabelled` holds the latter two (member → generation): what a delete that
 * keeps the data records, since its containers go.
 */
async function volumesWithGenerations(inv: Inventory, paths: Paths, cluster: string): Promise<{ volumes: HostVolume[]; unlabelled: Record<string, number> }> {
  const [vs, { members }] = await Promise.all([inv.volumes(cluster), inv.containers(cluster)]);
  const recorded = recordedVolumeGenerations(paths, cluster);
  const unlabelled: Record<string, number> = {};
  const volumes = vs.map((v) => {
    if (v.role !== 'postgres' || v.member === undefined || v.generation !== undefined) return v;
    const generation = members.find((m) => m.kind === 'postgres' && m.name === v.member)?.generation ?? recorded[v.member] ?? FIRST_GENERATION;
    if (generation === FIRST_GENERATION) return v;
    unlabelled[v.member] = generation;
    return { ...v, generation };
  });
  return { volumes, unlabelled };
}

/**
 * The cluster's volumes, and its S3 repository (or its stanza on the repository host) as if it were
 * one (role backup): what a delete keeps, what a create finds. Data volumes carry their generation
 * (volumesWithGenerations); which generation served is the record's (servingGeneration), which a
 * delete that keeps the data keeps too (removeCluster).
 */
export async function clusterVolumes(inv: Inventory, paths: Paths, cluster: string): Promise<KeptVolume[]> {
  const { volumes } = await volumesWithGenerations(inv, paths, cluster);
  const s3 = settingsRepositories(paths).filter((r) => r.cluster === cluster).map(keptRepositoryEntry);
  return [...volumes.map(keptVolume), ...s3].sort((a, b) => a.name.localeCompare(b.name));
}

/** Why a delete of a cluster on added hosts cannot go on while some of them do not answer (the CLI says the same, exit 2). */
export function unreachableDeleteLine(cluster: string, hosts: string[]): string {
  return `host ${hosts.join(', ')} does not answer: ${cluster}'s containers there cannot be removed; bring it back, or forget it with \`dbaas host remove ${hosts[0]} --force\` (what runs on it stays there)`;
}

export function createClusterActivities(inv: Inventory, paths: Paths) {
  return {
    async assertClusterAbsent(cluster: string): Promise<void> {
      if (await clusterIsLive(inv, cluster)) {
        throw finalError(ErrorTypes.ClusterExists, `cluster ${cluster} already exists`);
      }
    },

    /** Everything of the cluster but the kept volumes; keepBackups unset keeps the repository (the safe default). */
    async removeCluster(i: { cluster: string; keepData: boolean; keepBackups?: boolean }): Promise<RemovalReport> {
      const keep = { data: i.keepData, backups: i.keepBackups ?? true };
      // A host that does not answer may hold the cluster's containers (unless the cluster is on this
      // machine: placement never mixes it with added hosts); a delete that skipped it would leave them.
      const { members: all, unreachable } = await inv.membersAndUnreachable(i.cluster);
      if (unreachable.length > 0 && !all.some((m) => m.host === LOCAL_HOST)) {
        throw finalError(ErrorTypes.MemberRefused, unreachableDeleteLine(i.cluster, unreachable));
      }
      const hosts = inv.hosts.filter((h) => !unreachable.includes(h.name));
      // Before the containers go: for a data volume made before volumes were labelled, its
      // member's container alone tells which generation it holds. Kept data keeps that in the
      // record beside which generation served (a create on it starts that one, common/kept-data.ts).
      if (keep.data) writeVolumeGenerations(paths, i.cluster, (await volumesWithGenerations(inv, paths, i.cluster)).unlabelled);
      // Containers on every host first (an overlay network goes only once no host has one on it), in
      // three waves: the replicas and the front doors, then the leader (no replica is left to take
      // over: the member that led leads again on kept data), then etcd (a Patroni stopping without
      // its DCS waits out its whole stop timeout: measured 41 s).
      const pg = await inv.memberNames(i.cluster, { kind: 'postgres', running: true });
      const leader = (await clusterView(inv, i.cluster, pg).catch(() => undefined))?.find((m) => m.role === 'leader')?.name;
      const isEtcd = (l: Record<string, string>): boolean => l[LABEL_ROLE] === 'etcd';
      const isLeader = (l: Record<string, string>): boolean => l[LABEL_ROLE] === 'postgres' && l[LABEL_MEMBER] === leader;
      const waves = [(l: Record<string, string>) => !isEtcd(l) && !isLeader(l), isLeader, isEtcd];
      const containers: number[] = [];
      for (const wave of waves) {
        containers.push(...(await Promise.all(hosts.map((h) => removeClusterContainers(h.engine, i.cluster, POSTGRES_STOP_TIMEOUT_SEC, wave)))));
      }
      const rest = await Promise.all(hosts.map((h) => removeClusterNetworksAndVolumes(h.engine, i.cluster, keep)));
      // Which generation served goes with the members (a new cluster of the name starts at the first).
      // Kept data keeps it: a create on the kept data starts that generation's.
      if (!keep.data) forgetGenerations(paths, i.cluster);
      return rest.reduce<RemovalReport>(
        (a, r) => ({ containers: a.containers, volumes: a.volumes + r.volumes, networks: a.networks + r.networks }),
        { containers: containers.reduce((a, n) => a + n, 0), volumes: 0, networks: 0 },
      );
    },

    async describeCluster(cluster: string, lost?: LostHostHint): Promise<ClusterDescription> {
      return describeCluster(inv, cluster, lost);
    },

    /**
     * The PostgreSQL major the cluster's data is in (its members' spec label, which an in-place
     * upgrade rewrites), or null when no member is left: a delete that keeps the data records it,
     * so a later create on that data runs the same major.
     */
    async clusterPostgresVersion(cluster: string): Promise<PostgresVersion | null> {
      const created = (await inv.members(cluster)).filter((m) => m.kind === 'postgres').map((m) => m.createdWith).find((s) => s !== null);
      return created ? versionOf(created) : null;
    },

    /** The cluster's volumes, with their role, member and generation: before a create, the data kept by `delete --keep-data`. */
    async clusterVolumes(cluster: string): Promise<KeptVolume[]> {
      return clusterVolumes(inv, paths, cluster);
    },

    /** The generation that serves (or served, for kept data: the delete keeps the record with it). */
    async servingGeneration(cluster: string): Promise<number> {
      return servingGeneration(paths, cluster);
    },

    /** A failed create's compensation: the cluster's volumes except those it found (kept data stays). Containers must be gone. */
    async removeClusterVolumes(i: { cluster: string; keep: string[] }): Promise<number> {
      let removed = 0;
      for (const v of await inv.volumes(i.cluster)) {
        if (i.keep.includes(v.name)) continue;
        try {
          await inv.engine(v.host).getVolume(v.name).remove();
          removed++;
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        }
      }
      return removed;
    },

    async clusterFootprint(cluster: string): Promise<ClusterFootprint> {
      return clusterFootprint(inv, cluster);
    },
  };
}
