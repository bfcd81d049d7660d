/**
 * What a delete keeps — the data volumes with `--keep-data`, the backup repository unless
 * `--purge-backups` — and what a later create or restore of the same name makes of it: what it
 * can reuse, and a spec that cannot work on it (refused before anything starts).
 */
import { memberNames, type ClusterSpec } from './spec';
import { LEGACY_POSTGRES_VERSION, type PostgresVersion } from './postgres-version';
import { FIRST_GENERATION } from './generations';
import { nextMemberNames } from './members';
import { byMemberName } from './inventory';

export interface KeptVolume {
  name: string;
  /** The dbaas.role label: etcd, postgres, backup. */
  role: string;
  member?: string;
  /**
   * A data volume's generation when it is not the first (common/generations.ts): after a blue/green
   * upgrade's finish the kept data is generation 2's members' (pg-2, pg-3…), under Patroni scope
   * NAME-g2. Volumes carry no generation label (Docker cannot relabel one, and only members'
   * containers were ever labelled): it is the serving generation, whose record the delete keeps
   * with the data.
   */
  generation?: number;
}

export interface KeptData {
  volumes: KeptVolume[];
  /** The cluster's secrets file exists (its passwords are in the kept data directories). */
  secrets: boolean;
}

/** One cluster name's Docker resources (any dbaas resource labelled with it). */
export interface ClusterResources {
  name: string;
  containers: number;
  networks: number;
  volumes: KeptVolume[];
}

/** What a deleted cluster still has; data and backups both false for a live or unknown one. */
export interface KeptAfterDelete {
  /** Data volumes kept by `delete --keep-data`: a create of the same name starts on them. */
  data: boolean;
  /** The backup repository (kept by default): restore, backup list and backup purge work on it. */
  backups: boolean;
}

export const isLive = (r: Pick<ClusterResources, 'containers' | 'networks'>): boolean => r.containers > 0 || r.networks > 0;

export const isRepositoryVolume = (v: KeptVolume): boolean => v.role === 'backup';

export function keptAfterDelete(r: ClusterResources): KeptAfterDelete {
  if (isLive(r)) return { data: false, backups: false };
  return { data: r.volumes.some((v) => !isRepositoryVolume(v)), backups: r.volumes.some(isRepositoryVolume) };
}

/** Why this spec cannot start on the kept data, or undefined. */
export function keptDataProblem(spec: Pick<ClusterSpec, 'name' | 'etcdMembers'>, kept: KeptData): string | undefined {
  const etcd = kept.volumes.filter((v) => v.role === 'etcd').length;
  // etcd's data directory holds its membership: a different size would not form a quorum.
  if (etcd > 0 && etcd !== spec.etcdMembers) {
    return `cluster ${spec.name} has data kept from before (--keep-data) with ${etcd} etcd member${etcd === 1 ? '' : 's'}: ` +
      `create it with --etcd ${etcd}, or remove the kept data with \`dbaas cluster delete ${spec.name}\``;
  }
  const pg = kept.volumes.some((v) => v.role === 'postgres');
  // The repository's stanza belongs to the deleted cluster's database: a new database (another
  // system identifier) could not archive into it, and its backups must not be lost to a re-use.
  if (!pg && kept.volumes.some(isRepositoryVolume)) {
    return `cluster ${spec.name} was deleted and its backups are kept: restore them with \`dbaas restore ${spec.name} --into NEW --latest\`, ` +
      `or remove them with \`dbaas backup purge ${spec.name} --yes\` before re-using the name`;
  }
  if (pg && !kept.secrets) {
    return `cluster ${spec.name} has data volumes kept from before but no secrets file: its passwords are lost, so new members could not join; ` +
      `remove the kept data with \`dbaas cluster delete ${spec.name}\``;
  }
  return undefined;
}

/**
 * The major a create on kept data runs: the one its data is in (recorded by the delete), else
 * what `--version` asks, else 15 (data kept before dbaas recorded majors is 15's). Asking for
 * another major than the data's is refused: PostgreSQL does not start on another major's data.
 */
export function keptDataVersion(name: string, kept: PostgresVersion | undefined, asked: PostgresVersion | undefined): { version: PostgresVersion } | { problem: string } {
  if (kept !== undefined && asked !== undefined && asked !== kept) {
    return { problem: `cluster ${name} has data kept from before (--keep-data) in PostgreSQL ${kept}: create it with --version ${kept}${asked > kept ? ` and then \`dbaas upgrade ${name} --to ${asked}\`` : ''}, ` +
      `or remove the kept data with \`dbaas cluster delete ${name}\`` };
  }
  return { version: kept ?? asked ?? LEGACY_POSTGRES_VERSION };
}

/** --backup-to on a create that finds its repository kept from before: the kept one is the cluster's. */
export function keptRepositoryProblem(name: string): string {
  return `cluster ${name} keeps its backup repository from before (--keep-data): create it without --backup-to, and it archives there again`;
}

/** A restore never starts on a name whose deleted cluster kept something: that would mix two databases' data or backups. */
export function intoHasKeptVolumes(into: string): string {
  return `cluster ${into} was deleted but its volumes (data or backups) are kept: choose another name, ` +
    `or remove them (\`dbaas cluster delete ${into} --purge-backups\`)`;
}

/** PostgreSQL members whose data volume was kept (by `delete --keep-data`), in member order (pg-2 before pg-10). */
export function keptDataMembers(volumes: KeptVolume[]): string[] {
  return volumes.filter((v) => v.role === 'postgres' && v.member !== undefined).map((v) => v.member!).sort(byMemberName);
}

/** The generation of the kept data's members: the one they had at the delete (the first without kept data). */
export function keptDataGeneration(volumes: KeptVolume[]): number {
  return volumes.find((v) => v.role === 'postgres')?.generation ?? FIRST_GENERATION;
}

/**
 * The members a create makes: on kept data, its members under the names they had (a member's
 * volume is named after it, and Docker cannot rename a volume), as many as the spec asks for and
 * the lowest first, then new names after every kept one (never a name whose data is kept). After
 * a blue/green upgrade's finish they are pg-2, pg-3…, not pg-0…: a create that named them pg-0
 * would start empty members beside the kept data. Without kept data: pg-0…
 */
export function membersOnKeptData(replicas: number, volumes: KeptVolume[]): string[] {
  const kept = keptDataMembers(volumes);
  if (kept.length === 0) return memberNames(replicas);
  const reused = kept.slice(0, replicas + 1);
  return [...reused, ...nextMemberNames(kept, replicas + 1 - reused.length)];
}
