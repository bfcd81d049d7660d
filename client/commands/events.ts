/**
 * `dbaas cluster events NAME [--json]`: the ClusterWatch's event log (its `events` query).
 * `dbaas cluster watch NAME`: start the watch for a cluster that has none (created before it existed).
 */
import { table } from '../table';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { describeCluster } from '../../activities/cluster';
import type { ClusterEvent } from '../../common/events';
import { TASK_QUEUE } from '../../common/task-queues';
import { haWorkflowIds } from '../../common/workflow-ids';
import { clusterNameKey } from '../../common/search-attributes';
import type { clusterWatch, ClusterWatchInput } from '../../workflows';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';
import { OperationError, UsageError } from '../errors';

async function assertClusterExists(name: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, name);
}

async function queryEvents(client: Client, cluster: string): Promise<ClusterEvent[]> {
  try {
    return await client.workflow.getHandle(haWorkflowIds.clusterWatch(cluster)).query<ClusterEvent[]>('events');
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new OperationError(`cluster ${cluster} has no watch (created before dbaas had one?): start it with \`npx dbaas cluster watch ${cluster}\``);
    }
    throw new OperationError(`cannot read the events of ${cluster}: ${(err as Error).message}`);
  }
}

function printEvents(events: ClusterEvent[]): void {
  if (events.length === 0) {
    console.log('no events yet');
    return;
  }
  const t = table(['time', 'event', 'member', 'detail']);
  for (const e of events) t.push([e.at, e.kind, e.member ?? '', e.message]);
  console.log(t.toString());
}

export async function eventsCommand(name: string, o: { json: boolean }): Promise<void> {
  await assertClusterExists(name);
  const { client, connection } = await connectTemporal();
  try {
    const events = await queryEvents(client, name);
    if (o.json) console.log(JSON.stringify(events, null, 2));
    else printEvents(events);
  } finally {
    await connection.close();
  }
}

export async function watchCommand(name: string): Promise<void> {
  await assertClusterExists(name);
  const inv = await connectInventory();
  const { settings } = await describeCluster(inv, name);
  const { client, connection } = await connectTemporal();
  const id = haWorkflowIds.clusterWatch(name);
  try {
    const input: ClusterWatchInput = { cluster: name, profile: settings.profile, ...(settings.postgresVersion !== undefined ? { postgresVersion: settings.postgresVersion } : {}) };
    await client.workflow.start<typeof clusterWatch>('clusterWatch', {
      workflowId: id,
      taskQueue: TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [{ key: clusterNameKey, value: name }],
    });
    console.log(`watching cluster ${name}: workflow ${id} (\`npx dbaas cluster events ${name}\` shows what it records)`);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    console.log(`cluster ${name} is already watched: workflow ${id}`);
  } finally {
    await connection.close();
  }
}
