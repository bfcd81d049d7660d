/** `dbaas upgrade NAME --to 17 --method in-place|blue-green`: the cluster onto the next PostgreSQL major. */
import { upgradeProblem, type PostgresVersion } from '../../common/postgres-version';
import { resolvePaths } from '../../common/paths';
import { upgradeWorkflowIds } from '../../common/workflow-ids';
import type { upgradeBlueGreen, upgradeInPlace, UpgradeBlueGreenResult, UpgradeInPlaceResult } from '../../workflows';
import { AWAIT_DECISION_STEP, UPGRADE_STATUS_QUERY, backupBeforeLine, type UpgradeStatus } from '../../common/upgrade-status';
import { describeOutcome } from './upgrade-decision';
import type { UpgradeMethod } from '../registration/upgrade';
import { clusterStatus, requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { follow, followUntil, startOrAttach } from '../workflow-run';

export async function upgradeCommand(cluster: string, o: { to?: PostgresVersion; method?: UpgradeMethod; detach: boolean; backup?: boolean }): Promise<void> {
  if (o.to === undefined) throw new UsageError('--to is required: the PostgreSQL major to upgrade to');
  // Blue-green by default: writes pause for seconds, and until `upgrade finish` the old major can serve again.
  const method = o.method ?? 'blue-green';
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const status = await clusterStatus(inv, resolvePaths(), cluster);
  if (status.version !== null) {
    const problem = upgradeProblem(cluster, status.version, o.to);
    if (problem) throw new UsageError(problem);
  }
  const { client, connection } = await connectTemporal();
  try {
    if (method === 'blue-green') {
      // Its checks run in the workflow (they read every database on the leader); it refuses with what it found.
      const handle = await startOrAttach<typeof upgradeBlueGreen>(
        client, 'upgradeBlueGreen', upgradeWorkflowIds.blueGreen(cluster), cluster, [{ cluster, to: o.to, ...(o.backup === false ? { backupBeforeCutover: false } : {}) }],
        { running: `${cluster} is being upgraded`, starting: `blue-green upgrade of ${cluster} to PostgreSQL ${o.to}` },
        async () => undefined,
      );
      if (o.detach) {
        console.log(`started workflow ${handle.workflowId}`);
        return;
      }
      // The run waits after its cutover for the operator: follow it up to there.
      const r = await followUntil<UpgradeBlueGreenResult>(handle, `upgrade ${cluster}`, AWAIT_DECISION_STEP);
      if (r.ended) {
        console.log(describeOutcome(r.value));
        return;
      }
      const s = await handle.query<UpgradeStatus>(UPGRADE_STATUS_QUERY);
      console.log(`${cluster}: cut over to PostgreSQL ${o.to}${s.writePauseMs != null ? `; writes were paused ${(s.writePauseMs / 1000).toFixed(1)} s` : ''}; ports and credentials unchanged`);
      console.log(`  the PostgreSQL ${s.from ?? '?'} members stay, read-only: \`dbaas upgrade finish ${cluster}\` removes them; \`dbaas upgrade rollback ${cluster} --discard-writes\` makes them serve again (writes made on ${o.to} since the cutover are not carried back)`);
      console.log(`  ${backupBeforeLine(s.backupBefore, s.from)}`);
      return;
    }
    const handle = await startOrAttach<typeof upgradeInPlace>(
      client, 'upgradeInPlace', upgradeWorkflowIds.inPlace(cluster), cluster, [{ cluster, to: o.to }],
      { running: `${cluster} is being upgraded`, starting: `upgrading ${cluster} to PostgreSQL ${o.to} in place (writes stop until its leader runs on ${o.to})` },
      async () => undefined,
    );
    if (o.detach) {
      console.log(`started workflow ${handle.workflowId}`);
      return;
    }
    const r = await follow<UpgradeInPlaceResult>(handle, `upgrade ${cluster}`);
    console.log(`${cluster}: PostgreSQL ${r.from} → ${r.to}; leader ${r.leader}${r.replicas.length > 0 ? `, replicas ${r.replicas.join(', ')} cloned anew` : ''}; ports and credentials unchanged`);
    if (r.backupBefore) console.log(`  backup before the upgrade: ${r.backupBefore.label} (PostgreSQL ${r.from}); first backup on ${r.to}: ${r.backupAfter?.label ?? 'none'}`);
  } finally {
    await connection.close();
  }
}
