/** Read-only views of clusters for `list`, `status` and `connect`: Docker labels + Patroni /cluster. */
import * as fs from 'node:fs';
import type Docker from 'dockerode';
import { resolvePaths, type Paths } from '../common/paths';
import { LABEL_CLUSTER, LABEL_MEMBER, LABEL_PORT_PREFIX, LABEL_ROLE, reachesRepository } from '../common/labels';
import { portsFromBase } from '../common/ports';
import { isLive, keptAfterDelete, type KeptAfterDelete } from '../common/kept-data';
import { clusterInventory } from '../activities/cluster';
import { UsageError } from './errors';
import type { ClusterPorts } from '../common/spec';
import { clusterView } from '../activities/patroni';
import type { ClusterMember } from '../activities/patroni-api';

export interface MemberStatus {
  name: string;
  role: string;
  state: string;
  lag: number | null;
  timeline: number | null;
  nofailover: boolean;
  /** Direct endpoint to this member's PostgreSQL on 127.0.0.1, if it has one. */
  port: number | null;
  container: { name: string; state: string; created: string };
}

export interface ClusterStatus {
  name: string;
  leader: string | null;
  members: MemberStatus[];
  etcd: { name: string; state: string }[];
  haproxy: { state: string } | null;
  /** Whether the members mount the cluster's backup repository: all (on), none (off), some (an interrupted `backup enable`). */
  backups: 'on' | 'off' | 'partial';
  endpoints: {
    rw: { host: string; port: number };
    ro: { host: string; port: number };
    pooledRw: { host: string; port: number };
    pooledRo: { host: string; port: number };
    stats: { url: string; metrics: string };
  } | null;
}

/** Live clusters: those with containers or a network (a deleted cluster's kept volumes do not count). */
export async function clusterNames(docker: Docker): Promise<string[]> {
  return (await clusterInventory(docker, resolvePaths())).filter(isLive).map((r) => r.name);
}

/** Deleted clusters that kept their backups or their data, with what each kept. */
export async function deletedClusters(docker: Docker): Promise<(KeptAfterDelete & { name: string })[]> {
  return (await clusterInventory(docker, resolvePaths())).filter((r) => !isLive(r)).map((r) => ({ name: r.name, ...keptAfterDelete(r) }));
}

/** What the cluster is now: live, deleted with something kept, or unknown. */
export async function clusterState(docker: Docker, name: string): Promise<{ state: 'live' | 'deleted' | 'unknown' } & KeptAfterDelete> {
  const r = (await clusterInventory(docker, resolvePaths())).find((x) => x.name === name);
  if (!r) return { state: 'unknown', data: false, backups: false };
  return { state: isLive(r) ? 'live' : 'deleted', ...keptAfterDelete(r) };
}

/** One line for a command that needs a live cluster and got a deleted or unknown name. */
export function notLiveLine(name: string, kept: KeptAfterDelete): string {
  if (kept.backups) return `cluster ${name} was deleted; its backups are kept (\`dbaas backup list ${name}\`, \`dbaas restore ${name} --into NEW --latest\`)`;
  if (kept.data) return `cluster ${name} was deleted; its data is kept (\`dbaas cluster create ${name}\` starts on it)`;
  return `no cluster named ${name}`;
}

/** The name of a live cluster, or a UsageError (exit 2) that says what became of it. */
export async function requireLiveCluster(docker: Docker, name: string): Promise<void> {
  const s = await clusterState(docker, name);
  if (s.state !== 'live') throw new UsageError(notLiveLine(name, s));
}

export { clusterIsLive } from '../activities/cluster';

export async function clusterPorts(docker: Docker, paths: Paths, cluster: string): Promise<ClusterPorts | undefined> {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${cluster}`, `${LABEL_ROLE}=haproxy`] } });
  const base = cs[0]?.Labels[`${LABEL_PORT_PREFIX}base`];
  if (base) return portsFromBase(Number(base));
  try {
    const reg = JSON.parse(fs.readFileSync(paths.portRegistry, 'utf8')) as { clusters: Record<string, number> };
    const b = reg.clusters[cluster];
    return b === undefined ? undefined : portsFromBase(b);
  } catch {
    return undefined;
  }
}

export async function clusterStatus(docker: Docker, paths: Paths, cluster: string): Promise<ClusterStatus> {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${cluster}`] } });
  const pg = cs.filter((c) => c.Labels[LABEL_ROLE] === 'postgres').sort((a, b) => a.Labels[LABEL_MEMBER].localeCompare(b.Labels[LABEL_MEMBER], 'en', { numeric: true }));
  const names = pg.map((c) => c.Labels[LABEL_MEMBER]);
  const view: ClusterMember[] = (await clusterView(docker, cluster, names)) ?? [];
  const members: MemberStatus[] = pg.map((c) => {
    const name = c.Labels[LABEL_MEMBER];
    const m = view.find((v) => v.name === name);
    return {
      name,
      role: m?.role ?? 'unknown',
      state: m?.state ?? (c.State === 'running' ? 'not registered' : 'down'),
      lag: m?.lag ?? null,
      timeline: m?.timeline ?? null,
      nofailover: m?.tags?.nofailover === true,
      port: c.Labels[`${LABEL_PORT_PREFIX}direct`] ? Number(c.Labels[`${LABEL_PORT_PREFIX}direct`]) : null,
      container: { name: c.Names[0]?.replace(/^\//, '') ?? '', state: c.State, created: new Date(c.Created * 1000).toISOString() },
    };
  });
  const hap = cs.find((c) => c.Labels[LABEL_ROLE] === 'haproxy');
  const ports = await clusterPorts(docker, paths, cluster);
  const mounting = pg.filter((c) => reachesRepository(c, cluster)).length;
  return {
    name: cluster,
    leader: view.find((v) => v.role === 'leader')?.name ?? null,
    members,
    etcd: cs.filter((c) => c.Labels[LABEL_ROLE] === 'etcd').map((c) => ({ name: c.Labels[LABEL_MEMBER] ?? '', state: c.State })),
    haproxy: hap ? { state: hap.State } : null,
    backups: mounting === 0 ? 'off' : mounting === pg.length ? 'on' : 'partial',
    endpoints: ports
      ? {
          rw: { host: '127.0.0.1', port: ports.rw },
          ro: { host: '127.0.0.1', port: ports.ro },
          pooledRw: { host: '127.0.0.1', port: ports.pooledRw },
          pooledRo: { host: '127.0.0.1', port: ports.pooledRo },
          stats: { url: `http://127.0.0.1:${ports.stats}/`, metrics: `http://127.0.0.1:${ports.stats}/metrics` },
        }
      : null,
  };
}

