/**
 * What resources name a cluster (containers, networks, volumes, a repository kept outside
 * Docker), read through the inventory: whether it is live, and what a deleted one kept. Reads
 * only, shared by the activities (./cluster.ts) and the CLI (client/cluster-info.ts).
 */
import type { ReadInventory } from './hosts/inventory';
import type { HostVolume } from '../common/inventory';
import type { ClusterResources, KeptVolume } from '../common/kept-data';
import type { Paths } from '../common/paths';
import { FIRST_GENERATION } from '../common/generations';
import { keptRepositoryName, type HostLocation, type S3Location } from '../common/repository';
import { settingsRepositories } from './backup-settings';

export interface ClusterFootprint {
  containers: number;
  networks: number;
  volumes: number;
}

export async function clusterFootprint(inv: ReadInventory, cluster: string): Promise<ClusterFootprint> {
  const [c, n, v] = await Promise.all([inv.containers(cluster), inv.networks(cluster), inv.volumes(cluster)]);
  return { containers: c.members.length + c.helpers.length, networks: n.length, volumes: v.length };
}

/** Containers or network exist. Volumes alone are data kept by `delete --keep-data`: create reuses them. */
export async function clusterIsLive(inv: ReadInventory, cluster: string): Promise<boolean> {
  const f = await clusterFootprint(inv, cluster);
  return f.containers > 0 || f.networks > 0;
}

/** An S3 repository (or a stanza on the repository host) in the list of what a cluster keeps: no volume, but kept and purged as the repository volume is. */
export const keptRepositoryEntry = (r: { cluster: string; location: S3Location | HostLocation }): KeptVolume => ({ name: keptRepositoryName(r.location, r.cluster), role: 'backup' });

export const keptVolume = (v: HostVolume): KeptVolume => ({
  name: v.name, role: v.role, ...(v.member ? { member: v.member } : {}),
  ...(v.role === 'postgres' && v.generation !== undefined && v.generation > FIRST_GENERATION ? { generation: v.generation } : {}),
});

/**
 * Every cluster any dbaas resource names (or only `cluster`), with what it has: a live cluster has
 * containers or a network; a deleted one only the volumes its delete kept (data with --keep-data,
 * the backup repository unless --purge-backups).
 */
export async function clusterInventory(inv: ReadInventory, paths: Paths, cluster?: string): Promise<ClusterResources[]> {
  const [cs, ns, vs] = await Promise.all([inv.containers(cluster), inv.networks(cluster), inv.volumes(cluster)]);
  const byName = new Map<string, ClusterResources>();
  const of = (name: string): ClusterResources => {
    let r = byName.get(name);
    if (!r) byName.set(name, (r = { name, containers: 0, networks: 0, volumes: [] }));
    return r;
  };
  for (const c of [...cs.members, ...cs.helpers]) of(c.cluster).containers++;
  for (const n of ns) of(n.cluster).networks++;
  for (const v of vs) of(v.cluster).volumes.push(keptVolume(v));
  for (const r of settingsRepositories(paths)) if (cluster === undefined || r.cluster === cluster) of(r.cluster).volumes.push(keptRepositoryEntry(r));
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
