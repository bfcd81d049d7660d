/**
 * Generations of a cluster's PostgreSQL members (docs/design/blue-green-upgrade.md). A blue/green
 * upgrade builds the new major's members as the next generation beside the serving one, behind
 * the same front door, network, etcd and secrets; its cutover makes them the serving generation.
 * Every cluster starts, and most stay, at generation 1: members without a `dbaas.generation`
 * label, Patroni scope = the cluster's name. Pure: workflows, the CLI and activities share it.
 */
import { LABEL_GENERATION } from './labels';

export const FIRST_GENERATION = 1;

/** A member's generation from its labels (1 when unlabelled, or labelled with nonsense). */
export function generationOfLabels(l: Record<string, string>): number {
  const g = Number(l[LABEL_GENERATION]);
  return Number.isInteger(g) && g > FIRST_GENERATION ? g : FIRST_GENERATION;
}

/**
 * The labels a member of a generation carries, on its container and on its data volume (none for
 * the first: clusters made before generations stay as they are). A volume keeps its label for
 * good (Docker cannot relabel one): member names are never reused across generations.
 */
export function generationLabels(generation: number): Record<string, string> {
  return generation > FIRST_GENERATION ? { [LABEL_GENERATION]: String(generation) } : {};
}

/**
 * A generation's Patroni scope: the cluster's name for the first, `NAME-g<n>` after. Its DCS keys
 * are then under `/dbaas/NAME-g2/`, beside (never under) the first generation's `/dbaas/NAME/`.
 */
export function patroniScope(cluster: string, generation: number): string {
  return generation > FIRST_GENERATION ? `${cluster}-g${generation}` : cluster;
}

/** What DBAAS_HOME/generations/NAME.json holds once a cluster has more than one generation. */
export interface GenerationsRecord {
  /** The generation behind the front door. */
  serving: number;
  /**
   * Member → generation (2, 3, …) of data volumes that carry no generation label (made before
   * volumes were labelled), read from their members' containers by a delete that kept them: once
   * the containers are gone, only this tells such a volume from the first generation's.
   */
  volumeGenerations?: Record<string, number>;
}

/** Which generation serves when no record says otherwise. */
export const DEFAULT_SERVING: GenerationsRecord = { serving: FIRST_GENERATION };

/** Which generations a member read includes: one, or every generation (naming new members, an upgrade's own steps). */
export type GenerationFilter = number | 'all';

export const inGeneration = (memberGeneration: number, f: GenerationFilter): boolean => f === 'all' || memberGeneration === f;
