/**
 * Holding a cluster's operation lease from inside an operation's workflow: ask the cluster's
 * ClusterLease workflow, wait for its answer, release at the end — also on failure and
 * cancellation (a terminated workflow runs no `finally`: the lease's liveness check frees it).
 */
import {
  ApplicationFailure, CancellationScope, condition, getExternalWorkflowHandle, proxyActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { LEASE_FAILURES, LEASE_NO_WAIT_MEMO, leaseStep, leaseWorkflowId, type LeaseRequest } from '../common/lease';

export { LEASE_FAILURES };
import { TASK_QUEUE } from '../common/task-queues';
import { leaseAnswerSignal, releaseLeaseSignal, type LeaseAnswer } from './clusterLease';
import type { Steps } from './steps';

const act = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500ms', maximumInterval: '5s', maximumAttempts: 10 },
});

const answers = new Map<string, LeaseAnswer>();
let listening = false;
let requests = 0;

export interface HeldLease {
  release(): Promise<void>;
  /** Another operation held or waited for the cluster when this one asked (see LeaseAnswer.waited). */
  waited: boolean;
}

export interface LeaseOptions {
  /** false: be refused at once when another operation holds or waits (the watch's heals). */
  wait?: boolean;
  /** A delete: the queued operations are refused, this one goes next. */
  preempt?: boolean;
}

export async function acquireLease(cluster: string, operation: string, o: LeaseOptions = {}): Promise<HeldLease> {
  if (!listening) {
    setHandler(leaseAnswerSignal, (a) => void answers.set(a.requestId, a));
    listening = true;
  }
  const info = workflowInfo();
  const leaseId = leaseWorkflowId(cluster, info.taskQueue, TASK_QUEUE);
  const requestId = `${info.runId}:${cluster}:${++requests}`;
  const noWait = (info.memo as Record<string, unknown> | undefined)?.[LEASE_NO_WAIT_MEMO] === true;
  const request: LeaseRequest = {
    requestId, workflowId: info.workflowId, runId: info.runId, operation, wait: (o.wait ?? true) && !noWait, at: Date.now(),
    ...(info.parent ? { parentWorkflowId: info.parent.workflowId } : {}),
    ...(o.preempt ? { preempt: true } : {}),
  };
  const release = (): Promise<void> =>
    CancellationScope.nonCancellable(async () => {
      try {
        await getExternalWorkflowHandle(leaseId).signal(releaseLeaseSignal, { requestId });
      } catch {
        // The lease workflow has ended: nothing is held under it.
      }
    });
  try {
    await act.requestClusterLease({ cluster, leaseWorkflowId: leaseId, request });
    await condition(() => answers.has(requestId));
  } catch (err) {
    // Cancelled while waiting: withdraw (the same signal also frees a grant that crossed it).
    await release();
    throw err;
  }
  const a = answers.get(requestId)!;
  if (!a.granted) throw ApplicationFailure.nonRetryable(a.message ?? `the lease on ${cluster} was refused`, LEASE_FAILURES[a.reason ?? 'busy']);
  return { release, waited: a.waited !== false };
}

/**
 * Run `fn` holding the cluster's lease, under the operation's name (the Steps'). Waiting for it is
 * a step of the plan, so the UI and the CLI show it.
 */
export async function withClusterLease<T>(steps: Steps, cluster: string, fn: () => Promise<T>, o: LeaseOptions = {}): Promise<T> {
  const lease = await steps.run(leaseStep(cluster), () => acquireLease(cluster, steps.operation, o));
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}

/**
 * withClusterLease for an operation that starts by reading the cluster: `read` runs at once,
 * beside the lease request, and its answer is `fn`'s when the lease came without a wait (nothing
 * ran on the cluster meanwhile). After a wait, or when the early read failed or refused, the step
 * `readStep` reads again under the lease.
 */
export async function withClusterLeaseReading<R, T>(
  steps: Steps, cluster: string, readStep: string, read: () => Promise<R>, fn: (read: R) => Promise<T>,
): Promise<T> {
  const asked = acquireLease(cluster, steps.operation);
  const early = read().then((value) => ({ value }), () => null);
  const lease = await steps.run(leaseStep(cluster), () => asked);
  try {
    const r = await steps.run(readStep, async () => {
      const e = await early;
      return e && !lease.waited ? e.value : read();
    });
    return await fn(r);
  } finally {
    await lease.release();
  }
}
