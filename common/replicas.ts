/** Inputs and results of the replica workflows. */
import type { LostHostHint } from './host-loss';

export type CloneMethod = 'basebackup';

export interface AddReplicaInput {
  cluster: string;
  member: string;
  readOnly: boolean;
  /** How the member gets its data; a later issue adds cloning from a pgBackRest backup. */
  cloneMethod: CloneMethod;
  /** Across hosts: the host to put it on, chosen by the caller (ReplaceLostMembers); otherwise the one with the fewest members. */
  host?: string;
  /** A lost host the cluster still has members on (ReplaceLostMembers): left out, its members' names not reused. */
  lost?: LostHostHint;
}

/** `replica add`: how many members, and whether they are read-only (nofailover). */
export interface AddReplicasInput {
  cluster: string;
  count: number;
  readOnly: boolean;
}

export interface AddReplicaResult {
  cluster: string;
  member: string;
  readOnly: boolean;
  lagBytes: number;
  /** Connections through ro until one landed on the new member. */
  readAttempts: number;
}

export interface RemoveReplicaInput {
  cluster: string;
  member: string;
  /** How long established sessions may run on after new ones stop. */
  drainTimeoutMs: number;
}

export interface RemoveReplicaResult {
  cluster: string;
  member: string;
  /** Sessions still open when the drain timeout passed (cut by the stop). */
  sessionsCutAfterDrain: number;
}
