/**
 * SetParameters (`cluster config set|unset NAME …`): PostgreSQL parameters into Patroni's DCS config
 * (`postgresql.parameters`, PATCH /config; unset = null), checked against the leader's pg_settings
 * under the cluster's lease, then proven on every running member: it runs with each value, or
 * waits for a restart for it. With restart `rolling` the members that wait are restarted by the
 * RestartCluster workflow as a child (onlyPending; granted the lease under this run's): writes
 * stop for one switchover at most. A value a member's server refuses on reload is put back as it
 * was, so no later restart starts PostgreSQL on it.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, executeChild, workflowInfo } from '@temporalio/workflow';
import { planRestart } from '../common/cluster-restart';
import { leaseStep } from '../common/lease';
import {
  PARAMETER_REJECTED, changeProblems, parameterResults, setParametersInputProblem,
  type ParameterChange, type ParametersSeen, type SetParametersInput, type SetParametersResult,
} from '../common/set-parameters';
import { cleanup, quick, waits } from './activity-options';
import { memberChildOptions } from './children';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { restartCluster } from './restartCluster';
import { Steps } from './steps';

export type { SetParametersInput, SetParametersResult } from '../common/set-parameters';

const CHECK_STEP = "check the parameters against the leader's pg_settings";
const WAIT_STEP = 'wait until every member runs with them or waits for a restart';
const RESTART_STEP = 'restart the members that wait for it (rolling restart, child workflow)';
const AFTER_STEP = 'check that every member runs with them';
const REVERT_STEP = 'put the previous values back in the DCS';

const describe = (c: ParameterChange): string => (c.value === null ? `unset ${c.name}` : `${c.name}=${c.value}`);

function writeStep(changes: ParameterChange[]): string {
  const shown = changes.slice(0, 4).map(describe).join(', ');
  return `write ${shown}${changes.length > 4 ? ` and ${changes.length - 4} more` : ''} to the DCS (Patroni PATCH /config)`;
}

export async function setParameters(input: SetParametersInput): Promise<SetParametersResult> {
  const problem = setParametersInputProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
  const { cluster, changes } = input;
  const rolling = input.restart === 'rolling' ? [RESTART_STEP, AFTER_STEP] : [];
  const steps = new Steps('set-parameters', cluster, [leaseStep(cluster), CHECK_STEP, writeStep(changes), WAIT_STEP, ...rolling]);
  return withClusterLease(steps, cluster, () => setUnderLease(input, steps));
}

async function setUnderLease(input: SetParametersInput, steps: Steps): Promise<SetParametersResult> {
  const { cluster, changes } = input;
  const names = changes.map((c) => c.name);
  const { leader, previous } = await steps.run(CHECK_STEP, async () => {
    const r = await quick.readParameterSettings({ cluster, names });
    const problems = changeProblems(changes, r.settings);
    if (problems.length > 0) refuse(problems.join('; '));
    if (input.restart === 'rolling') {
      // Refused now, before anything is written, rather than after the write.
      const d = planRestart(await quick.restartSnapshot(cluster), {});
      if (d.kind === 'refuse') refuse(`--restart rolling: ${d.reason}`);
    }
    return r;
  });
  await steps.run(writeStep(changes), () => quick.patchParameters({ cluster, leader, changes }));
  let seen: ParametersSeen;
  try {
    seen = await steps.run(WAIT_STEP, () => waits.waitForParameters({ cluster, changes }));
  } catch (err) {
    if (rejected(err)) await CancellationScope.nonCancellable(() => steps.run(REVERT_STEP, () => cleanup.patchParameters({ cluster, leader, changes: previous })));
    throw err;
  }
  const pending = seen.members.some((m) => m.pending.length > 0);
  if (input.restart !== 'rolling') return result(cluster, changes, seen);
  if (!pending) {
    for (const s of [RESTART_STEP, AFTER_STEP]) steps.skip(s, 'not needed: no member waits for a restart');
    return result(cluster, changes, seen);
  }
  const r = await steps.run(RESTART_STEP, () =>
    executeChild(restartCluster, { ...memberChildOptions(cluster), workflowId: `${workflowInfo().workflowId}:restart`, args: [{ cluster, onlyPending: true }] }));
  const after = await steps.run(AFTER_STEP, () => waits.waitForParameters({ cluster, changes }));
  const restarted = r.restarted.map((m) => m.member);
  return {
    ...result(cluster, changes, seen, after, restarted),
    ...(r.switchover ? { switchover: r.switchover } : {}),
    writeDowntime: r.writeDowntime,
  };
}

function result(cluster: string, changes: ParameterChange[], seen: ParametersSeen, after?: ParametersSeen, restarted: string[] = []): SetParametersResult {
  return { cluster, parameters: parameterResults(changes, seen, after, restarted), restarted, notRunning: (after ?? seen).notRunning };
}

/** The wait failed because a member's server refused a value (not a timeout or a lost worker). */
const rejected = (err: unknown): boolean =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === PARAMETER_REJECTED;
