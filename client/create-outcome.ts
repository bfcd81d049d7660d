/** What a cluster's create recorded that `cluster status` shows beside what runs now: why its exporters did not start. */
import type { WorkflowClient } from '@temporalio/client';
import type { ConnectionInfo } from '../common/spec';
import { workflowIds } from '../common/workflow-ids';

/** The create's `metricsProblem`; undefined when it had none, has not completed, or is no longer kept (retention). */
export async function createMetricsProblem(client: WorkflowClient, cluster: string): Promise<string | undefined> {
  const handle = client.getHandle(workflowIds.createCluster(cluster));
  try {
    if ((await handle.describe()).status.name !== 'COMPLETED') return undefined;
    return ((await handle.result()) as ConnectionInfo | undefined)?.metricsProblem;
  } catch {
    return undefined;
  }
}
