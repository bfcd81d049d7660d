/**
 * SetParameters (`cluster config set|unset NAME …`): PostgreSQL parameters into Patroni's DCS config
 * (`postgresql.parameters`, PATCH /config; unset = null), checked against the leader's pg_settings
 * under the cluster's lease, then proven on every running member: it runs with each value, or
 * waits for a restart for it. With restart `rolling` the members that wait are restarted by the
 * RestartCluster workflow as a child (onlyPending; granted the lease under this run's): writes
 * stop for one switchover at most. A decrease that replicas cannot run below their primary
 * (max_connections…) restarts the leader in place first (workflows/leader-first.ts). A change of
 * max_connections ends by sizing the poolers' pools for it (workflows/pooler-sizes.ts).
 *
 * A value a member's server refuses on reload is put back as it was, so no later restart starts
 * PostgreSQL on it; so is every value of a rolling restart that failed (a member that does not
 * start with them), and the members get the previous values again (workflows/parameters-put-back.ts).
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, executeChild, isCancellation, workflowInfo } from '@temporalio/workflow';
import { planRestart, type RestartClusterResult } from '../common/cluster-restart';
import { innermostMessage } from '../common/error-chain';
import { leaseStep } from '../common/lease';
import {
  CONNECTION_SLOTS, PARAMETER_REJECTED, PARAMETERS_PUT_BACK, changeProblems, leaderFirstChanges, parameterResults, setParametersInputProblem,
  type ParameterChange, type ParametersSeen, type SetParametersInput, type SetParametersResult,
} from '../common/set-parameters';
import { cleanup, quick, waits } from './activity-options';
import { memberChildOptions } from './children';
import { withClusterLease } from './lease';
import { leaderFirstSteps, leaderGoesFirst, restartLeaderFirst } from './leader-first';
import { PUT_BACK_STEP, putPreviousBack } from './parameters-put-back';
import { poolersFollow, resizePoolers } from './pooler-sizes';
import { refuse } from './refusals';
import { restartCluster } from './restartCluster';
import { Steps } from './steps';

export type { SetParametersInput, SetParametersResult } from '../common/set-parameters';

const CHECK_STEP = "check the parameters against the leader's pg_settings";
const WAIT_STEP = 'wait until every member runs with them or waits for a restart';
const RESTART_STEP = 'restart the members that wait for it (rolling restart, child workflow)';
const AFTER_STEP = 'check that every member runs with them';

const describe = (c: ParameterChange): string => (c.value === null ? `unset ${c.name}` : `${c.name}=${c.value}`);

function writeStep(changes: ParameterChange[]): string {
  const shown = changes.slice(0, 4).map(describe).join(', ');
  return `write ${shown}${changes.length > 4 ? ` and ${changes.length - 4} more` : ''} to the DCS (Patroni PATCH /config)`;
}

export async function setParameters(input: SetParametersInput): Promise<SetParametersResult> {
  const problem = setParametersInputProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
  const { cluster, changes } = input;
  // The rolling restart's steps are planned once the wait shows what it takes (the leader first, or not).
  const steps = new Steps('set-parameters', cluster, [leaseStep(cluster), CHECK_STEP, writeStep(changes), WAIT_STEP]);
  // The poolers' pools follow max_connections (and the slots reserved out of it), also while a decrease waits for a restart.
  const follow = changes.some((c) => CONNECTION_SLOTS.includes(c.name)) && poolersFollow();
  return withClusterLease(steps, cluster, async () => {
    const r = await setUnderLease(input, steps);
    return follow ? { ...r, pooler: await resizePoolers(steps, cluster) } : r;
  });
}

async function setUnderLease(input: SetParametersInput, steps: Steps): Promise<SetParametersResult> {
  const { cluster, changes } = input;
  const names = changes.map((c) => c.name);
  const { leader, previous, settings } = await steps.run(CHECK_STEP, async () => {
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
    if (rejected(err)) await CancellationScope.nonCancellable(() => steps.run(PUT_BACK_STEP, () => cleanup.patchParameters({ cluster, leader, changes: previous })));
    throw err;
  }
  const pending = seen.members.some((m) => m.pending.length > 0);
  // Lowered below what the leader runs and pending there: only the leader's restart applies them.
  const leaderFirst = leaderFirstChanges(changes, settings).filter((n) => seen.members.some((m) => m.member === leader && m.pending.includes(n)));
  if (input.restart !== 'rolling') return result(cluster, changes, seen, undefined, [], leaderFirst);
  if (!pending) {
    for (const s of [RESTART_STEP, AFTER_STEP]) steps.skip(s, 'not needed: no member waits for a restart');
    return result(cluster, changes, seen);
  }
  const replicas = seen.members.map((m) => m.member).filter((m) => m !== leader);
  // Alone, the leader restarts in place anyway (as primary: with the new values).
  const first = replicas.length > 0 && leaderGoesFirst(leaderFirst) ? leaderFirstSteps(leader, leaderFirst) : undefined;
  steps.plan([...(first ? [first.restart, first.stream] : []), RESTART_STEP, AFTER_STEP]);
  let r: RestartClusterResult;
  let firstLine: string | undefined;
  try {
    if (first) firstLine = await restartLeaderFirst(steps, cluster, leader, replicas, leaderFirst);
    r = await steps.run(RESTART_STEP, () =>
      executeChild(restartCluster, { ...memberChildOptions(cluster), workflowId: `${workflowInfo().workflowId}:restart`, args: [{ cluster, onlyPending: true }] }));
  } catch (err) {
    const back = await CancellationScope.nonCancellable(() => putPreviousBack({ cluster, leader, previous, steps }));
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: PARAMETERS_PUT_BACK, nonRetryable: true,
      message: `${changes.map(describe).join(', ')}: the rolling restart failed (${innermostMessage(err)}); ${back}`,
    });
  }
  const after = await steps.run(AFTER_STEP, () => waits.waitForParameters({ cluster, changes }));
  const restarted = [...(firstLine ? [leader] : []), ...r.restarted.map((m) => m.member)];
  return {
    ...result(cluster, changes, seen, after, restarted),
    ...(r.switchover ? { switchover: r.switchover } : {}),
    writeDowntime: firstLine ? `${firstLine}${r.switchover ? `; then ${r.writeDowntime}` : ''}` : r.writeDowntime,
  };
}

function result(cluster: string, changes: ParameterChange[], seen: ParametersSeen, after?: ParametersSeen, restarted: string[] = [], leaderFirst: string[] = []): SetParametersResult {
  return {
    cluster, parameters: parameterResults(changes, seen, after, restarted), restarted, notRunning: (after ?? seen).notRunning,
    ...(leaderFirst.length > 0 ? { leaderFirst } : {}),
  };
}

/** The wait failed because a member's server refused a value (not a timeout or a lost worker). */
const rejected = (err: unknown): boolean =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === PARAMETER_REJECTED;
