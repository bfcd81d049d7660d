/**
 * ./operation-run.ts for commands that hold the SDK's gRPC client (they use it for more than
 * starting and following): the same start, follow and exit codes, on WorkflowHandles.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { busyRefusal, followRun, followRunUntil, startOrAttachRun, type LeaseSource, type StartMessages } from './operation-run';
import { readLease } from './lease';
import { grpcGateway } from './temporal/grpc-gateway';
import { waitsForLease } from './wait-for-lease';
import type { ShownSteps } from './watch';

export { leaseMemo, type StartMessages } from './operation-run';

/** With `--no-wait`: refuse before starting anything when another operation holds or waits for the cluster. */
export async function refuseIfBusy(client: Client, cluster: string): Promise<void> {
  if (waitsForLease()) return;
  const busy = busyRefusal(await readLease(client.workflow, cluster), cluster);
  if (busy) throw busy;
}

export async function startOrAttach<T extends Workflow>(
  client: Client, workflowType: string, id: string, cluster: string, args: Parameters<T>, messages: StartMessages, precheck: () => Promise<void>,
): Promise<WorkflowHandle<T>> {
  const { run } = await startOrAttachRun<T, WorkflowHandle>(grpcGateway(client), workflowType, id, cluster, args, messages, precheck);
  return run as WorkflowHandle<T>;
}

/** The handle came from starting the workflow (it has its first run's id), not from attaching to one already running. */
export function startedHere(handle: WorkflowHandle<Workflow>): boolean {
  return (handle as { firstExecutionRunId?: string }).firstExecutionRunId !== undefined;
}

/** `shown`: steps that ended before this command attached (they are not printed again). */
export function follow<T>(handle: WorkflowHandle, what: string, shown?: ShownSteps): Promise<T> {
  return followRun<T>(leasesOf(handle), handle, what, shown);
}

/** Follow until the step `stopAt` runs (the workflow then waits for the operator) or the workflow ends. */
export function followUntil<T>(handle: WorkflowHandle, what: string, stopAt: string, shown?: ShownSteps): Promise<{ ended: true; value: T } | { ended: false; followedMs: number }> {
  return followRunUntil<T>(leasesOf(handle), handle, what, stopAt, shown);
}

const leasesOf = (handle: WorkflowHandle): LeaseSource => ({ readLease: (cluster) => readLease(handle.client, cluster) });
