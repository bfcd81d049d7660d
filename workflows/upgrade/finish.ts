/**
 * `upgrade finish` after a blue/green cutover (docs/design/blue-green-upgrade.md, step 8): the new
 * major stays, the copy's leftovers and the old generation go. Before anything goes, a check that
 * the new generation does serve: a refusal brings the run back to the decision.
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import { notServingProblem } from '../../common/serving-check';
import type { ClusterSpec } from '../../common/spec';
import { cleanup, quick } from '../activity-options';
import type { Steps } from '../steps';
import { removeGenerationMembers, type NextGeneration } from './next-generation';

/** Runs from before s22 removed the old generation without this check. */
const FINISH_CHECK_PATCH = 'finish-checks-the-new-generation-serves';

const servesStep = (g: number): string => `check generation ${g} serves (the serving record, HAProxy's rw leader, writes allowed)`;
const DROP_SUBSCRIPTIONS_STEP = 'drop the subscriptions (the publications and slots go with the old members)';
const oldGenerationStep = (old: OldGeneration): string => `remove generation 1 (${old.members.join(', ')}: members, volumes, etcd keys)`;

/** The generation that served before the cutover. */
export interface OldGeneration {
  members: string[];
  spec: ClusterSpec;
}

/** Fails, changing nothing, unless `next` serves (common/serving-check.ts). */
export async function checkServes(steps: Steps, next: NextGeneration, statsPort: number): Promise<void> {
  if (!patched(FINISH_CHECK_PATCH)) return;
  const { cluster, generation } = next;
  await steps.run(servesStep(generation), async () => {
    const problem = notServingProblem(await quick.servingState({ cluster, statsPort }), { generation, members: next.members.map((m) => m.name) });
    if (problem) throw ApplicationFailure.nonRetryable(`generation ${generation} does not serve as it should, so generation ${generation - 1} stays: ${problem}`);
  });
}

/** The new major stays: the copy's leftovers and the old generation go. */
export async function finish(steps: Steps, next: NextGeneration, old: OldGeneration): Promise<void> {
  const { cluster } = next;
  steps.plan([DROP_SUBSCRIPTIONS_STEP, oldGenerationStep(old)]);
  // The publications and slots go with the old members.
  await steps.run(DROP_SUBSCRIPTIONS_STEP, () => cleanup.dropSubscriptions({ cluster, generation: next.generation, members: next.members.map((m) => m.name) }));
  await steps.run(oldGenerationStep(old), () =>
    removeGenerationMembers({ cluster, generation: next.generation - 1, spec: old.spec, members: old.members.map((name) => ({ name, readOnly: false })) }));
}
