/**
 * `dbaas upgrade finish NAME` and `dbaas upgrade rollback NAME [--discard-writes]`: the operator's
 * answer to a blue/green upgrade waiting after its cutover (or, for rollback, still copying). Each
 * signals the running workflow and follows it to its end.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  AWAIT_DECISION_AGAIN_STEP, AWAIT_DECISION_STEP, UPGRADE_FINISH_SIGNAL, UPGRADE_ROLLBACK_SIGNAL, UPGRADE_STATUS_QUERY, backupBeforeLine, type RollbackRequest, type UpgradeStatus,
} from '../../common/upgrade-status';
import { PROGRESS_QUERY, type Progress } from '../../common/progress';
import { upgradeWorkflowIds } from '../../common/workflow-ids';
import type { UpgradeBlueGreenResult } from '../../workflows';
import { connectTemporal } from '../connections';
import { OperationError, UsageError } from '../errors';
import { followUntil } from '../workflow-run';

async function runningUpgrade(client: Client, cluster: string): Promise<{ handle: ReturnType<Client['workflow']['getHandle']>; status: UpgradeStatus; ended: Set<string> }> {
  const handle = client.workflow.getHandle(upgradeWorkflowIds.blueGreen(cluster));
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') throw new UsageError(`no blue-green upgrade of ${cluster} is running`);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no blue-green upgrade of ${cluster} is running`);
    throw err;
  }
  const [status, progress] = await Promise.all([handle.query<UpgradeStatus>(UPGRADE_STATUS_QUERY), handle.query<Progress>(PROGRESS_QUERY)]);
  // What `dbaas upgrade` already showed: this command prints only what the decision does.
  const ended = new Set(progress.steps.filter((s) => s.state !== 'pending' && s.state !== 'running').map((s) => s.name));
  return { handle, status, ended };
}

export function describeOutcome(r: UpgradeBlueGreenResult): string {
  const outcome = r.outcome === 'finished'
    ? `${r.cluster}: PostgreSQL ${r.from} → ${r.to} finished; leader ${r.leader}; the PostgreSQL ${r.from} members are removed; ports and credentials unchanged`
    : `${r.cluster}: rolled back; PostgreSQL ${r.from} serves again (leader ${r.leader}); the PostgreSQL ${r.to} members are removed`;
  // Runs from before the backup before the cutover have no such field: nothing to say.
  return r.backupBefore === undefined ? outcome : `${outcome}\n  ${backupBeforeLine(r.backupBefore, r.from)}`;
}

/** The run takes `finish` (and after the cutover `rollback`) only while it waits for one: a signal sent otherwise is ignored. */
const notWaiting = (cluster: string, status: UpgradeStatus, verb: string): UsageError =>
  new UsageError(`the upgrade of ${cluster} ${status.cutOver ? 'does not wait for a decision now' : 'has not cut over yet'} (see \`dbaas upgrade status ${cluster}\`): ${verb} once it waits for finish or rollback`);

export type UpgradeHandle = Awaited<ReturnType<typeof runningUpgrade>>['handle'];

/**
 * Until the run took a decision after the `before`-th (its count moved past it), or ended: until
 * then its wait-again step and `decisionProblem` are an earlier decision's. A run from before it
 * counted (no count) is waited on until it no longer waits, for a minute at most.
 */
async function decisionTaken(handle: UpgradeHandle, before: number | undefined): Promise<void> {
  for (let i = 0; before !== undefined || i < 600; i++) {
    const s = await handle.query<UpgradeStatus>(UPGRADE_STATUS_QUERY).catch(() => null);
    if (s === null ? (await handle.describe()).status.name !== 'RUNNING' : before === undefined ? !s.awaitingDecision : (s.decisions ?? 0) > before) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Once the run took this decision, follows it to its end, or to its waiting again after a finish
 * or rollback that failed before it changed what serves: that failure, exit 1.
 */
export async function followDecision(handle: UpgradeHandle, what: string, ended: Set<string>, before: number | undefined): Promise<UpgradeBlueGreenResult> {
  await decisionTaken(handle, before);
  const r = await followUntil<UpgradeBlueGreenResult>(handle, what, AWAIT_DECISION_AGAIN_STEP, ended);
  if (r.ended) return r.value;
  const s = await handle.query<UpgradeStatus>(UPGRADE_STATUS_QUERY);
  throw new OperationError(`${s.decisionProblem ?? `${what} failed`}; PostgreSQL ${s.to} still serves, and the upgrade waits for \`upgrade finish\` or \`upgrade rollback\` again`);
}

export async function upgradeFinishCommand(cluster: string): Promise<void> {
  const { client, connection } = await connectTemporal();
  try {
    const { handle, status, ended } = await runningUpgrade(client, cluster);
    if (!status.awaitingDecision) throw notWaiting(cluster, status, 'finish');
    await handle.signal(UPGRADE_FINISH_SIGNAL);
    console.log(describeOutcome(await followDecision(handle, `upgrade finish ${cluster}`, ended, status.decisions)));
  } finally {
    await connection.close();
  }
}

export async function upgradeRollbackCommand(cluster: string, o: { discardWrites: boolean }): Promise<void> {
  const { client, connection } = await connectTemporal();
  try {
    const { handle, status, ended } = await runningUpgrade(client, cluster);
    const refusal = `PostgreSQL ${status.to} has served ${cluster} since the cutover: a rollback does not carry its writes back to ${status.from}; add --discard-writes to roll back anyway`;
    if (status.cutOver && !o.discardWrites) throw new UsageError(refusal);
    // The run takes a decision after its cutover only while it waits for one (as for finish).
    if (status.cutOver && !status.awaitingDecision) throw notWaiting(cluster, status, 'roll back');
    const request: RollbackRequest = { discardWrites: o.discardWrites };
    await handle.signal(UPGRADE_ROLLBACK_SIGNAL, request);
    if (status.awaitingDecision) {
      console.log(describeOutcome(await followDecision(handle, `upgrade rollback ${cluster}`, ended, status.decisions)));
      return;
    }
    // Before the cutover the run stops. If its cutover began meanwhile it ignores the request and
    // goes on to wait for a decision: then the rollback needs --discard-writes, sent while it waits.
    const r = await followUntil<UpgradeBlueGreenResult>(handle, `upgrade rollback ${cluster}`, AWAIT_DECISION_STEP, ended);
    if (!r.ended) throw new UsageError(o.discardWrites ? `the cutover of ${cluster} began before the rollback arrived; it now waits for finish or rollback: run \`dbaas upgrade rollback ${cluster} --discard-writes\` again` : refusal);
    console.log(describeOutcome(r.value));
  } finally {
    await connection.close();
  }
}
