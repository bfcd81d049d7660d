/**
 * The CLI's Temporal through the SDK's gRPC client (./gateway.ts): for servers without an HTTP
 * API, and for commands that use the SDK's client for more than starting and following.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { clusterNameKey } from '../../common/search-attributes';
import { readLease } from '../lease';
import { WorkflowAlreadyRunning, type StartRequest, type WorkflowGateway } from './gateway';

export function grpcGateway(client: Client, close: () => Promise<void> = async () => undefined): WorkflowGateway<WorkflowHandle> {
  return {
    attach: (workflowId) => client.workflow.getHandle(workflowId),
    start: async (r: StartRequest) => {
      try {
        const options = {
          workflowId: r.workflowId,
          taskQueue: r.taskQueue,
          args: r.args,
          typedSearchAttributes: [{ key: clusterNameKey, value: r.cluster }],
          memo: r.memo,
        } as unknown as WorkflowStartOptions; // the SDK's conditional args type does not narrow for an untyped workflow
        return await client.workflow.start(r.workflowType, options);
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new WorkflowAlreadyRunning(err.message);
        throw err;
      }
    },
    isRunning: async (workflowId) => {
      try {
        return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },
    readLease: (cluster) => readLease(client.workflow, cluster),
    hasWorker: async (taskQueue) => {
      try {
        const r = await client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return (r.pollers ?? []).length > 0;
      } catch {
        return undefined;
      }
    },
    close,
  };
}
