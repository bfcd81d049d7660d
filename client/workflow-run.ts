/**
 * Starting and following workflows for every command: start or attach to a run with the same id,
 * follow its steps, map its failure to an exit code. Operations that change a cluster wait for its
 * lease; `--no-wait` refuses instead (exit 1, with the line that says who holds it).
 */
import {
  WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle, type WorkflowStartOptions,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { innermostType } from '../common/error-chain';
import type { Workflow } from '@temporalio/common';
import { LEASE_FAILURES, LEASE_NO_WAIT_MEMO, waitingLine } from '../common/lease';
import { TASK_QUEUE } from '../common/task-queues';
import { clusterNameKey } from '../common/search-attributes';
import { temporalConfig } from '../common/temporal-config';
import { LeaseBusyError, OperationError, UsageError } from './errors';
import { readLease } from './lease';
import { waitsForLease } from './wait-for-lease';
import { watchWorkflow, watchWorkflowUntil, type ShownSteps } from './watch';

/** The memo that makes a workflow refuse instead of queueing for the lease. */
export function leaseMemo(): Record<string, unknown> {
  return waitsForLease() ? {} : { [LEASE_NO_WAIT_MEMO]: true };
}

/** With `--no-wait`: refuse before starting anything when another operation holds or waits for the cluster. */
export async function refuseIfBusy(client: Client, cluster: string): Promise<void> {
  if (waitsForLease()) return;
  const lease = await readLease(client.workflow, cluster);
  const holder = lease?.operation ?? lease?.queued[0];
  if (holder) throw new LeaseBusyError(waitingLine(holder, cluster));
}

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

async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch {
    return false;
  }
}

/** The innermost ApplicationFailure type, e.g. MemberRefused. */
const failureType = innermostType;

/** Refusals decided inside a workflow are bad input for the CLI (exit 2). */
const REFUSAL_TYPES = new Set(['MemberRefused', 'ClusterExists', 'ClusterNotFound', 'SpecError']);

/** `shown`: steps that ended before this command attached (they are not printed again). */
export async function follow<T>(handle: WorkflowHandle, what: string, shown?: ShownSteps): Promise<T> {
  try {
    return await watchWorkflow<T>(handle, process.stdout, shown);
  } catch (err) {
    throw asCliError(err, what);
  }
}

/** Follow until the step `stopAt` runs (the workflow then waits for the operator) or the workflow ends. */
export async function followUntil<T>(handle: WorkflowHandle, what: string, stopAt: string, shown?: ShownSteps): Promise<{ ended: true; value: T } | { ended: false; followedMs: number }> {
  try {
    return await watchWorkflowUntil<T>(handle, stopAt, process.stdout, shown);
  } catch (err) {
    throw asCliError(err, what);
  }
}

function asCliError(err: unknown, what: string): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  // The lease was refused: `--no-wait` lost a race (exit 1 with the lease's own line), or the cluster is being deleted.
  if (failureType(err) === LEASE_FAILURES.busy) return new LeaseBusyError(failureMessage(err));
  if (failureType(err) === LEASE_FAILURES.deleting) return new OperationError(`${what} refused: ${failureMessage(err)}`);
  const message = `${what} failed: ${failureMessage(err)}`;
  return REFUSAL_TYPES.has(failureType(err) ?? '') ? new UsageError(message) : new OperationError(message);
}

/** The task queue has no poller: the workflow would wait silently for a worker. */
async function warnIfNoWorker(client: Client): Promise<void> {
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: TASK_QUEUE },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((r.pollers ?? []).length === 0) {
      console.error(`warning: no worker polls task queue "${TASK_QUEUE}"; the workflow runs once one does (\`npx dbaas dev up\` or \`npx dbaas worker\`)`);
    }
  } catch {
    // Best effort: the workflow itself is what matters.
  }
}

/**
 * Start the workflow, or attach to the run already going under the same id (a second
 * `create` or `delete` of the same cluster follows the first instead of starting another).
 * `precheck` runs only when nothing is running; it throws to refuse.
 */
export interface StartMessages {
  /** e.g. "cluster orders is being created" */
  running: string;
  /** e.g. "creating cluster orders" */
  starting: string;
}

export async function startOrAttach<T extends Workflow>(
  client: Client, workflowType: string, id: string, cluster: string, args: Parameters<T>, messages: StartMessages, precheck: () => Promise<void>,
): Promise<WorkflowHandle<T>> {
  const handle: WorkflowHandle<T> = client.workflow.getHandle(id);
  if (await isRunning(handle)) {
    console.log(`${messages.running}; following workflow ${id}`);
    return handle;
  }
  await precheck();
  await refuseIfBusy(client, cluster);
  await warnIfNoWorker(client);
  try {
    const options = {
      workflowId: id,
      taskQueue: TASK_QUEUE,
      args,
      typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
      memo: leaseMemo(),
    } as unknown as WorkflowStartOptions<T>; // the SDK's conditional args type does not narrow for a generic T
    const started = await client.workflow.start<T>(workflowType, options);
    console.log(`${messages.starting}: workflow ${uiLink(id)}`);
    return started;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    console.log(`${messages.running}; following workflow ${id}`);
    return handle;
  }
}

/** The handle came from starting the workflow (it has its first run's id), not from attaching to one already running. */
export function startedHere(handle: WorkflowHandle<Workflow>): boolean {
  return (handle as { firstExecutionRunId?: string }).firstExecutionRunId !== undefined;
}

function uiLink(workflowId: string): string {
  const cfg = temporalConfig();
  return cfg.ui ? `${cfg.ui}/namespaces/${cfg.namespace}/workflows/${encodeURIComponent(workflowId)}` : workflowId;
}
