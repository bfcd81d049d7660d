/** `dbaas cluster add-app-role NAME`: the least-privilege app role for a cluster made before dbaas created it. */
import { workflowIds } from '../../common/workflow-ids';
import { APP_DATABASE, APP_USER } from '../../common/service-users';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import type { addAppRole, AddAppRoleResult } from '../../workflows';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

export async function addAppRoleCommand(cluster: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof addAppRole>(
      gateway, 'addAppRole', workflowIds.addAppRole(cluster), cluster, [cluster],
      { running: `the ${APP_USER} role is being added to ${cluster}`, starting: `adding the ${APP_USER} role to ${cluster}` },
      async () => undefined,
    );
    const r = await followRun<AddAppRoleResult>(gateway, handle, `add the ${APP_USER} role to ${cluster}`);
    const what = r.databaseCreated || r.passwordSet ? `role ${APP_USER} and database ${APP_DATABASE} ready` : 'already there, verified';
    console.log(`${cluster}: ${what} (\`dbaas connect ${cluster}\`, \`dbaas psql ${cluster}\`)`);
  } finally {
    await gateway.close();
  }
}
