/**
 * The operator's answer to a blue/green upgrade (`upgrade finish`, `upgrade rollback`), as
 * signals: before the cutover a rollback stops the run; after it the run waits for one and takes
 * it (docs/design/blue-green-upgrade.md, step 8).
 */
import { condition, defineSignal, patched, setHandler } from '@temporalio/workflow';
import { UPGRADE_FINISH_SIGNAL, UPGRADE_ROLLBACK_SIGNAL, type RollbackRequest, type UpgradeStatus } from '../../common/upgrade-status';
import type { Steps } from '../steps';

export const upgradeFinishSignal = defineSignal(UPGRADE_FINISH_SIGNAL);
export const upgradeRollbackSignal = defineSignal<[RollbackRequest?]>(UPGRADE_ROLLBACK_SIGNAL);

/** Runs from before s22 took a signal sent while a decision ran (or a finish sent before the cutover) as the next decision. */
const ONLY_WHILE_WAITING_PATCH = 'decisions-only-while-waiting';

/** What the operator asked for: the first signal counts (a finish cannot be taken back by a later rollback, nor the reverse). */
export interface Decision {
  wanted: 'finish' | 'rollback' | null;
  /** The poolers' pause was asked for: writes may reach the new major from here on. */
  cutoverBegan: boolean;
  /** From the cutover on, a signal counts only while the run waits for it (status.awaitingDecision). */
  onlyWhileWaiting: boolean;
}

/** Takes the signals for the run; `status` says whether it waits for a decision. */
export function acceptDecisions(status: UpgradeStatus): Decision {
  const decision: Decision = { wanted: null, cutoverBegan: false, onlyWhileWaiting: false };
  const take = (wanted: 'finish' | 'rollback'): void => {
    // One sent while a finish or rollback runs would be taken, unseen, as the next one once that
    // one failed: it is not (the CLI refuses to send it).
    if (decision.onlyWhileWaiting && !status.awaitingDecision) return;
    decision.wanted ??= wanted;
  };
  setHandler(upgradeFinishSignal, () => take('finish'));
  setHandler(upgradeRollbackSignal, (r?: RollbackRequest) => {
    // From the pause on, writes may reach the new major: a rollback drops them, so only one that
    // says so counts (`upgrade rollback --discard-writes`); the CLI tells the others.
    if (decision.cutoverBegan && !r?.discardWrites) return;
    take('rollback');
  });
  return decision;
}

/** The cutover begins: from here a signal counts only while the run waits for a decision. */
export function beginCutover(decision: Decision): void {
  decision.cutoverBegan = true;
  decision.onlyWhileWaiting = patched(ONLY_WHILE_WAITING_PATCH);
  // A finish sent before the cutover (the CLI refuses it) would end the run the moment it cut over.
  if (decision.onlyWhileWaiting) decision.wanted = null;
}

/** The run waits for a decision (step `waitStep`) and returns it, counted in `status.decisions`. */
export async function nextDecision(steps: Steps, waitStep: string, decision: Decision, status: UpgradeStatus): Promise<'finish' | 'rollback'> {
  status.awaitingDecision = true;
  const wanted = await steps.run(waitStep, async () => {
    await condition(() => decision.wanted !== null);
    return decision.wanted!;
  });
  status.awaitingDecision = false;
  // `upgrade finish|rollback` follow the decision once this count moved past the one they read.
  status.decisions = (status.decisions ?? 0) + 1;
  decision.wanted = null;
  return wanted;
}
