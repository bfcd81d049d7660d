/** `dbaas cluster add-poolers NAME`: pooled endpoints for a cluster made before dbaas created them. */
import { replicaWorkflowIds } from '../../common/workflow-ids';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import type { addPoolers, AddPoolersResult } from '../../workflows';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

export async function addPoolersCommand(cluster: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof addPoolers>(
      gateway, 'addPoolers', replicaWorkflowIds.addPoolers(cluster), cluster, [cluster],
      { running: `poolers are being added to ${cluster}`, starting: `adding pooled endpoints to ${cluster}` },
      async () => undefined,
    );
    const r = await followRun<AddPoolersResult>(gateway, handle, `add poolers to ${cluster}`);
    const what = r.created.length > 0 ? `started ${r.created.join(', ')}` : 'already there, verified';
    console.log(`${cluster}: pooled endpoints ${what}: rw 127.0.0.1:${r.ports.pooledRw}, ro 127.0.0.1:${r.ports.pooledRo} (\`dbaas connect ${cluster} --pooled [--ro]\`)`);
  } finally {
    await gateway.close();
  }
}
