/**
 * The lease's two touches of Temporal itself: asking a cluster's ClusterLease workflow for the
 * lease (signal-with-start: the lease workflow runs only while someone holds or waits), and
 * finding requesters whose run ended without releasing (terminated, timed out).
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { LeaseRequest } from '../common/lease';
import { clusterNameKey } from '../common/search-attributes';

export const REQUEST_LEASE_SIGNAL = 'requestLease';

export function createLeaseActivities() {
  return {
    /** Deliver a request to the cluster's lease workflow, starting it if it is not running. Idempotent (the request id). */
    async requestClusterLease(i: { cluster: string; leaseWorkflowId: string; request: LeaseRequest }): Promise<void> {
      const ctx = Context.current();
      await ctx.client.workflow.signalWithStart('clusterLease', {
        workflowId: i.leaseWorkflowId,
        // The requester's own queue: the worker that runs the operation runs its lease.
        taskQueue: ctx.info.taskQueue,
        args: [{ cluster: i.cluster }],
        signal: REQUEST_LEASE_SIGNAL,
        signalArgs: [i.request],
        typedSearchAttributes: [{ key: clusterNameKey, value: i.cluster }],
      });
    },

    /** Of these runs, the ones that are no longer running. */
    async endedWorkflowRuns(runs: { workflowId: string; runId: string }[]): Promise<string[]> {
      const client = Context.current().client;
      const ended: string[] = [];
      for (const r of runs) {
        try {
          const d = await client.workflow.getHandle(r.workflowId, r.runId).describe();
          if (d.status.name !== 'RUNNING') ended.push(r.runId);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) ended.push(r.runId);
          else throw err;
        }
      }
      return ended;
    },
  };
}
