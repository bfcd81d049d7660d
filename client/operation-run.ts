/**
 * Starting and following an operation's workflow through either Temporal backend
 * (./temporal/gateway.ts): start it or attach to the run already going under the same id, follow
 * its steps, map its failure to an exit code. Operations that change a cluster wait for its
 * lease; `--no-wait` refuses instead (exit 1, with the line that says who holds it).
 */
import { innermostType } from '../common/error-chain';
import { LEASE_FAILURES, LEASE_NO_WAIT_MEMO, waitingLine, type LeaseView } from '../common/lease';
import { TASK_QUEUE } from '../common/task-queues';
import { temporalConfig } from '../common/temporal-config';
import { LeaseBusyError, OperationError, UsageError } from './errors';
import { WorkflowAlreadyRunning, isWorkflowRunFailure, type FollowedRun, type WorkflowGateway } from './temporal/gateway';
import { waitsForLease } from './wait-for-lease';
import { watchWorkflow, watchWorkflowUntil, type ShownSteps } from './watch';

/** The memo that makes a workflow refuse instead of queueing for the lease. */
export function leaseMemo(): Record<string, unknown> {
  return waitsForLease() ? {} : { [LEASE_NO_WAIT_MEMO]: true };
}

/** With `--no-wait`: the line that refuses when another operation holds or waits for the cluster. */
export function busyRefusal(lease: LeaseView | null, cluster: string): LeaseBusyError | undefined {
  const holder = lease?.operation ?? lease?.queued[0];
  return holder ? new LeaseBusyError(waitingLine(holder, cluster)) : undefined;
}

export interface StartMessages {
  /** e.g. "cluster orders is being created" */
  running: string;
  /** e.g. "creating cluster orders" */
  starting: string;
}

/** A workflow function's type, for its arguments' (`typeof createCluster`; type-only imports). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type WorkflowFunction = (...args: any[]) => Promise<unknown>;

export interface StartedRun<R extends FollowedRun> {
  run: R;
  /** This command started it (false: it attached to the run already going under the id). */
  startedHere: boolean;
}

/**
 * Start the workflow, or attach to the run already going under the same id (a second
 * `create` or `delete` of the same cluster follows the first instead of starting another).
 * `precheck` runs only when nothing is running; it throws to refuse.
 */
export async function startOrAttachRun<W extends WorkflowFunction = WorkflowFunction, R extends FollowedRun = FollowedRun>(
  gateway: WorkflowGateway<R>, workflowType: string, id: string, cluster: string, args: Parameters<W>, messages: StartMessages, precheck: () => Promise<void>,
): Promise<StartedRun<R>> {
  if (await gateway.isRunning(id).catch(() => false)) {
    console.log(`${messages.running}; following workflow ${id}`);
    return { run: gateway.attach(id), startedHere: false };
  }
  await precheck();
  // Independent reads, at once: who holds the lease (only `--no-wait` asks), whether a worker polls.
  const [lease, worker] = await Promise.all([waitsForLease() ? null : gateway.readLease(cluster), gateway.hasWorker(TASK_QUEUE)]);
  const busy = busyRefusal(lease, cluster);
  if (busy) throw busy;
  if (worker === false) {
    console.error(`warning: no worker polls task queue "${TASK_QUEUE}"; the workflow runs once one does (\`npx dbaas dev up\` or \`npx dbaas worker\`)`);
  }
  try {
    const run = await gateway.start({ workflowType, workflowId: id, taskQueue: TASK_QUEUE, args, cluster, memo: leaseMemo() });
    console.log(`${messages.starting}: workflow ${uiLink(id)}`);
    return { run, startedHere: true };
  } catch (err) {
    if (!(err instanceof WorkflowAlreadyRunning)) throw err;
    console.log(`${messages.running}; following workflow ${id}`);
    return { run: gateway.attach(id), startedHere: false };
  }
}

function uiLink(workflowId: string): string {
  const cfg = temporalConfig();
  return cfg.ui ? `${cfg.ui}/namespaces/${cfg.namespace}/workflows/${encodeURIComponent(workflowId)}` : workflowId;
}

/** Where a follower reads who holds the lease its workflow waits for: a gateway. */
export type LeaseSource = Pick<WorkflowGateway, 'readLease'>;

/** `shown`: steps that ended before this command attached (they are not printed again). */
export async function followRun<T>(leases: LeaseSource, run: FollowedRun, what: string, shown?: ShownSteps): Promise<T> {
  try {
    return await watchWorkflow<T>(run, leases.readLease, process.stdout, shown);
  } catch (err) {
    throw asCliError(err, what);
  }
}

/** Follow until the step `stopAt` runs (the workflow then waits for the operator) or the workflow ends. */
export async function followRunUntil<T>(
  leases: LeaseSource, run: FollowedRun, what: string, stopAt: string, shown?: ShownSteps,
): Promise<{ ended: true; value: T } | { ended: false; followedMs: number }> {
  try {
    return await watchWorkflowUntil<T>(run, leases.readLease, stopAt, process.stdout, shown);
  } catch (err) {
    throw asCliError(err, what);
  }
}

/** Refusals decided inside a workflow are bad input for the CLI (exit 2). */
const REFUSAL_TYPES = new Set(['MemberRefused', 'ClusterExists', 'ClusterNotFound', 'SpecError']);

function failureMessage(err: unknown): string {
  // Walk the cause chain to the innermost message: that is the step's own error.
  let e: unknown = err;
  const parts: string[] = [];
  while (e instanceof Error) {
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts[parts.length - 1] ?? String(err);
}

function asCliError(err: unknown, what: string): unknown {
  if (!isWorkflowRunFailure(err)) return err;
  const type = innermostType(err);
  // The lease was refused: `--no-wait` lost a race (exit 1 with the lease's own line), or the cluster is being deleted.
  if (type === LEASE_FAILURES.busy) return new LeaseBusyError(failureMessage(err));
  if (type === LEASE_FAILURES.deleting) return new OperationError(`${what} refused: ${failureMessage(err)}`);
  const message = `${what} failed: ${failureMessage(err)}`;
  return REFUSAL_TYPES.has(type ?? '') ? new UsageError(message) : new OperationError(message);
}
