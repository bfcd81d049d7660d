/** `dbaas cluster add-metrics NAME`: the exporters for a cluster made before dbaas started them. */
import { replicaWorkflowIds } from '../../common/workflow-ids';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import type { addMetrics, AddMetricsResult } from '../../workflows';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

export async function addMetricsCommand(cluster: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof addMetrics>(
      gateway, 'addMetrics', replicaWorkflowIds.addMetrics(cluster), cluster, [cluster],
      { running: `the exporters are being added to ${cluster}`, starting: `adding the exporters to ${cluster}` },
      async () => undefined,
    );
    const r = await followRun<AddMetricsResult>(gateway, handle, `add the exporters to ${cluster}`);
    const what = r.created.length > 0 ? `started on ${r.created.join(', ')}` : 'already there, verified';
    console.log(`${cluster}: metrics container ${what} (GET /probe?target=pg-N or pgbouncer-rw|ro on its published port)`);
  } finally {
    await gateway.close();
  }
}
