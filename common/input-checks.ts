/**
 * Names that reach paths, Docker names and SQL must have the shape dbaas gives them. Every
 * workflow checks its input with these at its start (a workflow can be started directly through
 * Temporal, without the CLI), and the CLI uses the same rules for its one-line refusals.
 */
import { clusterNameProblem } from './spec';
import { hostNameProblem } from './host-spec';

const MEMBER = /^pg-\d{1,3}$/;
/** pgBackRest labels: a full backup, or a diff/incr with the full it builds on. */
const BACKUP_LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;

export function memberNameProblem(member: string): string | undefined {
  return typeof member === 'string' && MEMBER.test(member) ? undefined : `member must look like pg-N, got "${String(member)}"`;
}

export function backupLabelProblem(label: string): string | undefined {
  return typeof label === 'string' && BACKUP_LABEL.test(label) ? undefined : `backup label must look like 20260131-020000F or 20260131-020000F_20260201-020000D, got "${String(label)}"`;
}

export interface NamesToCheck {
  clusters?: unknown[];
  members?: unknown[];
  labels?: unknown[];
  hosts?: unknown[];
}

/** The first problem with these names, or undefined. */
export function namesProblem(n: NamesToCheck): string | undefined {
  for (const c of n.clusters ?? []) {
    const p = typeof c === 'string' ? clusterNameProblem(c) : `cluster name must be a string, got ${typeof c}`;
    if (p) return p;
  }
  for (const m of n.members ?? []) {
    const p = memberNameProblem(m as string);
    if (p) return p;
  }
  for (const l of n.labels ?? []) {
    const p = backupLabelProblem(l as string);
    if (p) return p;
  }
  for (const h of n.hosts ?? []) {
    const p = hostNameProblem(h);
    if (p) return p;
  }
  return undefined;
}
