/** The CLI's read of a cluster's operation lease: who runs an operation on it now, who waits. Never waits itself. */
import { WorkflowNotFoundError, type WorkflowClient } from '@temporalio/client';
import { leaseView, leaseWorkflowId, type LeaseState, type LeaseView } from '../common/lease';
import { TASK_QUEUE } from '../common/task-queues';

/** A query needs a worker; without one the answer would never come. */
const QUERY_TIMEOUT_MS = 3000;

export const NO_OPERATION: LeaseView = { operation: null, queued: [] };

/** The lease as its workflow holds it; null when no worker answered in time. */
export async function readLease(client: WorkflowClient, cluster: string): Promise<LeaseView | null> {
  const handle = client.getHandle(leaseWorkflowId(cluster, TASK_QUEUE, TASK_QUEUE));
  try {
    // The lease workflow runs only while someone holds or waits.
    if ((await handle.describe()).status.name !== 'RUNNING') return NO_OPERATION;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), QUERY_TIMEOUT_MS)));
    try {
      const state = await Promise.race([handle.query<LeaseState>('leaseState'), late]);
      return state === null ? null : leaseView(state);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return NO_OPERATION;
    throw err;
  }
}
