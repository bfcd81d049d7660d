/**
 * What a delete keeps — the data volumes with `--keep-data`, the backup repository unless
 * `--purge-backups` — and what a later create or restore of the same name makes of it: what it
 * can reuse, and a spec that cannot work on it (refused before anything starts).
 */
import { memberNames, type ClusterSpec, type ConnectionInfo } from './spec';
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
   * A data volume's generation when it is known not to be the first (common/generations.ts): its
   * `dbaas.generation` label, or for a volume made before volumes were labelled its member's
   * container's (recorded by the delete that kept it). Absent: the first generation's, or data
   * kept by a dbaas that did not tell (see keptGenerationToStart).
   */
  generation?: number;
}

export interface KeptData {
  volumes: KeptVolume[];
  /** The cluster's secrets file exists (its passwords are in the kept data directories). */
  secrets: boolean;
  /** The generation that served at the delete (its record survives a delete that keeps data); absent in histories from before. */
  serving?: number;
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
  const choice = kept.serving === undefined ? undefined : keptGenerationToStart(spec.name, kept.volumes, kept.serving);
  return choice && 'problem' in choice ? choice.problem : undefined;
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

/** The generation of the kept data's members as histories from before volume labels recorded it: the serving one, on every data volume. */
export function keptDataGeneration(volumes: KeptVolume[]): number {
  return volumes.find((v) => v.role === 'postgres')?.generation ?? FIRST_GENERATION;
}

/** The data volumes of one generation that a create on kept data left as they were. */
export type LeftGeneration = NonNullable<ConnectionInfo['keptDataLeft']>['left'][number];

export interface KeptGenerationChoice {
  /** The generation the create starts: the one that served at the delete (the first without kept data). */
  generation: number;
  /** Its members with kept data, in member order. */
  members: string[];
  /** The other generations' data volumes, lowest generation first: never started, never removed by the create. */
  left: LeftGeneration[];
}

/**
 * Which kept data a create starts, and which it leaves. A delete with --keep-data keeps the data
 * volumes of every generation the cluster had: both while a blue/green upgrade had neither
 * finished nor rolled back (a run that failed after its cutover, or a delete in the decision
 * window). The generation that served at the delete starts, in that generation (its Patroni scope,
 * the major its data is in); the others stay as they are. Starting them together would put two
 * databases in one Patroni cluster.
 *
 * A volume without a generation is the first's, but for data kept by a dbaas that did not label
 * volumes yet: a record of a later generation serving and no volume known to be of one means all
 * the kept data is that generation's (such a dbaas kept the serving generation's data after a
 * finish; both generations' kept by it cannot be told apart, and start together as before).
 */
export function keptGenerationToStart(cluster: string, volumes: KeptVolume[], serving: number): KeptGenerationChoice | { problem: string } {
  const data = volumes.filter((v) => v.role === 'postgres' && v.member !== undefined);
  if (data.length === 0) return { generation: FIRST_GENERATION, members: [], left: [] };
  const unlabelled = serving > FIRST_GENERATION && data.every((v) => v.generation === undefined);
  const generationOf = (v: KeptVolume): number => (unlabelled ? serving : v.generation ?? FIRST_GENERATION);
  const generations = [...new Set(data.map(generationOf))].sort((a, b) => a - b);
  if (!generations.includes(serving)) {
    return { problem: `cluster ${cluster} keeps data of generation${generations.length > 1 ? 's' : ''} ${generations.join(' and ')} from before (--keep-data), but generation ${serving} served at its delete and none of its data is kept: ` +
      `nothing can tell which data to start; remove the kept data with \`dbaas cluster delete ${cluster}\` (its backups stay)` };
  }
  const volumesOf = (g: number): KeptVolume[] => data.filter((v) => generationOf(v) === g).sort((a, b) => byMemberName(a.member!, b.member!));
  return {
    generation: serving,
    members: volumesOf(serving).map((v) => v.member!),
    left: generations.filter((g) => g !== serving).map((g) => ({ generation: g, volumes: volumesOf(g).map((v) => v.name) })),
  };
}

/**
 * The members a create makes: on kept data, the started generation's kept members (`started`, by
 * default every kept one) under the names they had (a member's volume is named after it, and
 * Docker cannot rename a volume), as many as the spec asks for and the lowest first, then new names
 * after every kept one of any generation (never a name whose data is kept). After a blue/green
 * upgrade's finish they are pg-2, pg-3…, not pg-0…: a create that named them pg-0 would start empty
 * members beside the kept data. Without kept data: pg-0…
 */
export function membersOnKeptData(replicas: number, volumes: KeptVolume[], started: string[] = keptDataMembers(volumes)): string[] {
  const kept = keptDataMembers(volumes);
  if (kept.length === 0) return memberNames(replicas);
  const reused = started.slice(0, replicas + 1);
  return [...reused, ...nextMemberNames(kept, replicas + 1 - reused.length)];
}

/** After a delete that kept the data of several generations: which one a create starts (undefined: one generation only). */
export function keptGenerationsLine(cluster: string, volumes: KeptVolume[], serving: number): string | undefined {
  const choice = keptGenerationToStart(cluster, volumes, serving);
  if ('problem' in choice || choice.left.length === 0) return undefined;
  const others = choice.left.map((g) => g.generation).join(' and ');
  return `the kept data is of ${choice.left.length + 1} generations (a blue/green upgrade neither finished nor rolled back): \`dbaas cluster create ${cluster}\` starts generation ${choice.generation}'s, ` +
    `which served; generation ${others}'s stays as it is, unused`;
}

/** How to remove kept data volumes nothing uses any more (kept data is on this machine only: common/placement.ts). */
export const removeVolumesCommand = (volumes: string[]): string => `docker volume rm ${volumes.join(' ')}`;

/** What `cluster create` says after starting one generation of kept data and leaving the others' (as they were, unused). */
export function keptDataLeftLines(cluster: string, note: NonNullable<ConnectionInfo['keptDataLeft']>): string[] {
  const volumes = note.left.flatMap((g) => g.volumes);
  return [
    `kept data: generation ${note.started} started (it served when ${cluster} was deleted); ` +
      note.left.map((g) => `generation ${g.generation}'s data stays as it was, unused: ${g.volumes.join(', ')}`).join('; '),
    `  remove it once you no longer need it: \`${removeVolumesCommand(volumes)}\`` +
      (note.left.some((g) => g.generation > note.started) ? ` (an upgrade of ${cluster} is refused while it is there)` : ''),
  ];
}

/**
 * An upgrade would build generation `next` while data volumes of that generation are kept without
 * members (a create on kept data left them): they would count as its members' at the next create
 * on kept data, mixing two databases. Refused until they are removed.
 */
export function keptNextGenerationProblem(cluster: string, next: number, volumes: string[]): string {
  return `cluster ${cluster} keeps generation ${next}'s data from before its delete (--keep-data), unused: ${volumes.join(', ')}; ` +
    `an upgrade would build generation ${next} beside it: remove it first (\`${removeVolumesCommand(volumes)}\`)`;
}
