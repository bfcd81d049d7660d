/**
 * Rebuild and resize (`cluster rebuild NAME`, `cluster resize NAME --cpus --memory`): input, result
 * and the decisions about them as pure functions. The roll is the rolling restart's
 * (common/cluster-restart.ts planRestart, workflows/roll.ts); each member's container is re-created
 * on the current image, its data volume kept, instead of its PostgreSQL restarted.
 */
import { namesProblem } from './input-checks';
import type { ParameterChange } from './set-parameters';
import type { RestartSnapshot } from './cluster-restart';
import { sizeParameters, sizeProblem, type MemberSize } from './sizes';
import type { ClusterSettings } from './spec';

export interface RebuildClusterInput {
  cluster: string;
  /**
   * A resize: the limits it names replace the cluster's (the others stay), and the parameters
   * derived from a new memory limit are PATCHed into the DCS before the first member is re-created.
   */
  resize?: MemberSize;
}

/** How a member came to run in a new container. */
export type RebuiltHow =
  | 're-created'
  /** A retried step found the new container there already (an earlier attempt's). */
  | 'already re-created'
  /** The leader, in place: no replica could take over. */
  | 're-created in place';

export interface RebuiltMember {
  member: string;
  how: RebuiltHow;
  /** Docker's container id before the run re-created the member, and after. */
  containerBefore: string;
  containerAfter: string;
  /** The image id the new container runs. */
  image: string;
}

export interface RebuildClusterResult {
  cluster: string;
  /** In the order they were re-created. */
  rebuilt: RebuiltMember[];
  switchover?: { from: string; to: string };
  leader: string;
  writeDowntime: string;
  /** The members' size now (null: no limits). */
  size: MemberSize | null;
  /** The parameters a resize wrote to the DCS (none for a rebuild, or a resize of the CPUs only). */
  parameters: ParameterChange[];
  /** Members Patroni still flags pending_restart at the end. */
  pendingAfter: string[];
  /**
   * Decreases replicas cannot run below their primary's (a resize's lower max_connections, or one
   * set without a restart that waited for the leader's): the leader restarted in place first with them.
   */
  leaderFirst?: string[];
  /** The poolers' pools after the new containers (workflows/pooler-sizes.ts); absent where the run did not size them. */
  pooler?: string;
}

/** One member's container as the rebuild records it before the roll. */
export interface MemberContainer {
  /** Docker's container id. */
  id: string;
  /** The image id it runs. */
  image: string;
  /** The host port of its direct endpoint (dbaas.port.direct), kept by the new container; null: none. */
  directPort: number | null;
}

/** What the rebuild's first step records. */
export interface RebuildSnapshot {
  restart: RestartSnapshot;
  /** What the members were made with (the spec label), profile and sync as the DCS holds them. */
  settings: ClusterSettings;
  containers: Record<string, MemberContainer>;
}

/** Why this input is no rebuild request, or undefined (the workflow checks it before any activity). */
export function rebuildInputProblem(i: RebuildClusterInput): string | undefined {
  if (typeof i !== 'object' || i === null) return 'the input must be an object {cluster, resize?}';
  const names = namesProblem({ clusters: [i.cluster] });
  if (names) return names;
  if (i.resize === undefined) return undefined;
  if (typeof i.resize === 'object' && i.resize !== null && i.resize.cpus === undefined && i.resize.memoryMiB === undefined) {
    return 'a resize names --cpus, --memory or both';
  }
  return sizeProblem(i.resize);
}

/** The parameters a resize writes first: those derived from its memory, when it names one. */
export function resizeChanges(resize: MemberSize | undefined, after: MemberSize): ParameterChange[] {
  if (resize?.memoryMiB === undefined) return [];
  return Object.entries(sizeParameters(after)).map(([name, value]) => ({ name, value }));
}

/** A resize request in a workflow id: the same request again follows the running one. */
export const resizeRequestKey = (r: MemberSize): string => `cpus=${r.cpus ?? '-'},memoryMiB=${r.memoryMiB ?? '-'}`;

/**
 * What a re-create step does, given the member's container now (undefined: none) and what the run
 * recorded before. The recorded container goes; one made since, on the image the tag names now, is
 * this run's (an earlier attempt's, the worker killed after it): it is only started if it is not.
 */
export type RebuildStepDecision = 'create' | 'replace' | 'done';

export function rebuildStepDecision(now: { id: string; image: string } | undefined, recorded: string, wantedImage: string): RebuildStepDecision {
  if (!now) return 'create';
  return now.id !== recorded && now.image === wantedImage ? 'done' : 'replace';
}
