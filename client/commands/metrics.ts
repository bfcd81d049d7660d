/** `dbaas cluster add-metrics NAME`: the exporters for a cluster made before dbaas started them. */
import { replicaWorkflowIds } from '../../common/workflow-ids';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';
import type { addMetrics, AddMetricsResult } from '../../workflows';
import { follow, startOrAttach } from '../workflow-run';

export async function addMetricsCommand(cluster: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const { client, connection } = await connectTemporal();
  try {
    const handle = await startOrAttach<typeof addMetrics>(
      client, 'addMetrics', replicaWorkflowIds.addMetrics(cluster), cluster, [cluster],
      { running: `the exporters are being added to ${cluster}`, starting: `adding the exporters to ${cluster}` },
      async () => undefined,
    );
    const r = await follow<AddMetricsResult>(handle, `add the exporters to ${cluster}`);
    const what = r.created.length > 0 ? `started on ${r.created.join(', ')}` : 'already there, verified';
    console.log(`${cluster}: metrics container ${what} (GET /probe?target=pg-N or pgbouncer-rw|ro on its published port)`);
  } finally {
    await connection.close();
  }
}
