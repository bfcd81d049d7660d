/**
 * `cluster config set --restart rolling` whose restart failed after the values were written (most
 * often a member whose PostgreSQL does not start with them: huge_pages=on without huge pages, a
 * shared_buffers the container cannot hold). Left in the DCS, such a value would stop every later
 * restart or failover start, so the cluster is put back as it was: the previous values into the
 * DCS; every member running with them again (Patroni tries the failed member's start again every
 * HA loop, and from the next loop on it starts it with the values now in the DCS; the wait wakes
 * its loop); the members the roll had already restarted with the new values restarted once more
 * (rolling, as a child). Runs outside cancellation: it is the run's cleanup.
 */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { innermostMessage } from '../common/error-chain';
import type { ParameterChange } from '../common/set-parameters';
import { cleanup, waits } from './activity-options';
import { memberChildOptions } from './children';
import { restartCluster } from './restartCluster';
import type { Steps } from './steps';

export const PUT_BACK_STEP = 'put the previous values back in the DCS';
const BACK_STEP = 'wait until every member runs with the previous values (Patroni starts a failed member again)';
const RESTART_BACK_STEP = 'restart the members that run the new values (rolling restart, child workflow)';

export interface PutBack {
  cluster: string;
  /** The member whose Patroni API took the write. */
  leader: string;
  previous: ParameterChange[];
  steps: Steps;
}

/** Put the previous values back and every member on them; returns what it did, in words, or why it could not. */
export async function putPreviousBack(p: PutBack): Promise<string> {
  const { cluster, leader, previous, steps } = p;
  steps.plan([PUT_BACK_STEP, BACK_STEP]);
  try {
    await steps.run(PUT_BACK_STEP, () => cleanup.patchParameters({ cluster, leader, changes: previous }));
    const back = await steps.run(BACK_STEP, () => waits.waitForParameters({ cluster, changes: previous }));
    const again = back.members.filter((m) => m.pending.length > 0).map((m) => m.member);
    if (again.length === 0) return 'the previous values are back in the DCS and every member runs with them';
    const r = await steps.run(RESTART_BACK_STEP, () =>
      executeChild(restartCluster, { ...memberChildOptions(cluster), workflowId: `${workflowInfo().workflowId}:restart-back`, args: [{ cluster, onlyPending: true }] }));
    return `the previous values are back in the DCS and every member runs with them (${r.restarted.map((m) => m.member).join(', ')} restarted again)`;
  } catch (err) {
    return `putting the previous values back failed too (${innermostMessage(err)}): \`dbaas cluster config ${cluster}\` shows where the members are`;
  }
}
