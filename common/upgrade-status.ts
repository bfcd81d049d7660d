/**
 * What `dbaas upgrade status NAME` reads from an upgrade workflow: its method and majors (the
 * `upgradeStatus` query), and its phase (the step the `progress` query shows running, failed, or
 * last done). Pure: the workflows answer the query, the CLI formats the answer.
 */
import type { PostgresVersion } from './postgres-version';
import type { Progress, StepProgress } from './progress';

export type UpgradeMethodName = 'in-place' | 'blue-green';

export const UPGRADE_STATUS_QUERY = 'upgradeStatus';

export interface UpgradeStatus {
  method: UpgradeMethodName;
  /** The major the cluster ran when the upgrade started; null until its checks read it. */
  from: PostgresVersion | null;
  to: PostgresVersion;
  /** In place: pg_upgrade --link has started, so the old major comes back only from the backup. */
  pastPointOfNoReturn: boolean;
  /** Blue/green: bytes the new cluster's subscriptions trail the old leader by; null until they exist. */
  replicationLagBytes: number | null;
  /** Blue/green: the new generation serves (the cutover is done); absent in runs from before cutovers. */
  cutOver?: boolean;
  /** Blue/green: how long writes were paused at the cutover (pooler pause to resume), once it is done. */
  writePauseMs?: number | null;
  /** Blue/green: the run waits for `upgrade finish` or `upgrade rollback`. */
  awaitingDecision?: boolean;
  /** Blue/green: why the new major has no full backup yet after the cutover (its step and error); `finish` tries again. */
  backupProblem?: string | null;
  /** Blue/green: the last finish or rollback failed before it changed what serves (why); the run waits for a decision again. */
  decisionProblem?: string | null;
  /**
   * Blue/green: how many finish or rollback signals the run has taken after its cutover (absent in
   * runs from before it counted). `upgrade finish|rollback` follow their own once it moved past
   * the count they read before signalling: until then `decisionProblem` is an earlier one's.
   */
  decisions?: number;
  /**
   * Blue/green: the old major's full backup taken before the cutover (the way back once the old
   * members are gone), or why none was taken; absent in runs from before it took one.
   */
  backupBefore?: { label: string; stoppedAt: string } | { none: string };
}

export const UPGRADE_FINISH_SIGNAL = 'upgradeFinish';
/** The blue/green step that waits for the operator: `dbaas upgrade` stops following there. */
export const AWAIT_DECISION_STEP = 'wait for `upgrade finish` or `upgrade rollback`';
/** The same wait after a finish or a rollback that failed: `upgrade finish|rollback` stop following there (the failure is in `decisionProblem`). */
export const AWAIT_DECISION_AGAIN_STEP = 'wait again for `upgrade finish` or `upgrade rollback` (the last one failed)';
export const UPGRADE_ROLLBACK_SIGNAL = 'upgradeRollback';
/** The rollback signal's argument: once the cutover has begun, only a rollback that gives up the new major's writes counts. */
export interface RollbackRequest {
  discardWrites: boolean;
}

export interface UpgradePhase {
  /** 1-based position of the step in the plan. */
  index: number;
  of: number;
  step: string;
  state: StepProgress['state'];
  detail?: string;
}

/**
 * The step that says where the upgrade is: the one running, else the one that failed, else the
 * last one done (a finished run), else the first (nothing ran yet).
 */
export function upgradePhase(p: Progress): UpgradePhase | null {
  const steps = p.steps;
  if (steps.length === 0) return null;
  const at = (i: number): UpgradePhase => ({ index: i + 1, of: steps.length, step: steps[i]!.name, state: steps[i]!.state, ...(steps[i]!.detail ? { detail: steps[i]!.detail } : {}) });
  const running = steps.findIndex((s) => s.state === 'running');
  if (running >= 0) return at(running);
  const failed = steps.findIndex((s) => s.state === 'failed');
  if (failed >= 0) return at(failed);
  const done = steps.map((s) => s.state).lastIndexOf('done');
  return at(done >= 0 ? done : 0);
}

/**
 * What `upgrade status` and the blue/green run's end say of the backup taken before the cutover.
 * The run's own later backups expire nothing; the next backup after the run applies the retention,
 * which counts the full backups of both majors (so under the default, 2, the first full backup
 * after a finish expires it, and the first backup of any kind after a rollback that moved the stanza).
 */
export function backupBeforeLine(b: UpgradeStatus['backupBefore'], from: PostgresVersion | null): string {
  if (b === undefined) return 'backup before the cutover: none (a run from before dbaas took one)';
  if ('none' in b) return `backup before the cutover: none (${b.none})`;
  return `backup before the cutover: ${b.label} (full, PostgreSQL ${from ?? '?'}, ended ${b.stoppedAt}): \`dbaas restore --to-time\` to a moment before the cutover starts from it, ` +
    'until the retention expires it (it counts the full backups of both majors; the upgrade\'s own backups expire nothing)';
}
