/** `dbaas upgrade NAME --to 17 --method in-place|blue-green`: the cluster onto the next PostgreSQL major. */
import type { Command } from 'commander';
import { upgradeProblem, type PostgresVersion } from '../../common/postgres-version';
import { resolvePaths } from '../../common/paths';
import { upgradeWorkflowIds } from '../../common/workflow-ids';
import type { upgradeBlueGreen, upgradeInPlace, UpgradeBlueGreenResult, UpgradeInPlaceResult } from '../../workflows';
import { AWAIT_DECISION_STEP, UPGRADE_STATUS_QUERY, type UpgradeStatus } from '../../common/upgrade-status';
import { describeOutcome, upgradeFinishCommand, upgradeRollbackCommand } from './upgrade-decision';
import { parseClusterName, parseVersion } from '../args';
import { clusterStatus, requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';
import { UsageError } from '../errors';
import { follow, followUntil, startOrAttach } from '../workflow-run';
import { upgradeStatusCommand } from './upgrade-status';

export const UPGRADE_METHODS = ['in-place', 'blue-green'] as const;
export type UpgradeMethod = (typeof UPGRADE_METHODS)[number];

function parseMethod(v: string): UpgradeMethod {
  if (!(UPGRADE_METHODS as readonly string[]).includes(v)) throw new UsageError(`--method must be one of ${UPGRADE_METHODS.join(', ')}, got "${v}"`);
  return v as UpgradeMethod;
}

export async function upgradeCommand(cluster: string, o: { to?: PostgresVersion; method?: UpgradeMethod; detach: boolean }): Promise<void> {
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
        client, 'upgradeBlueGreen', upgradeWorkflowIds.blueGreen(cluster), cluster, [{ cluster, to: o.to }],
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

export function registerUpgradeCommand(program: Command): void {
  const upgrade = program
    .command('upgrade')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    // Not a required option: commander would demand it of `upgrade status` too.
    .option('--to <major>', 'the PostgreSQL major to upgrade to (required)', (v: string) => parseVersion(v, '--to'))
    .option('--method <method>', `${UPGRADE_METHODS.join(' | ')} (default blue-green): in-place runs pg_upgrade --link on the cluster's own data, offline; blue-green builds the new major's members beside the old ones, replicates into them and cuts over in seconds; upgrade finish or upgrade rollback then ends it`, (v: string) => parseMethod(v))
    .option('--detach', 'start the workflow and return', false)
    .description('upgrade a cluster to a newer PostgreSQL major, keeping its name, ports and credentials (a backup first)')
    .exitOverride()
    .action((name: string, o) => upgradeCommand(name, o));
  upgrade.command('finish')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .description('end a blue-green upgrade that has cut over: the old major\'s members are removed')
    .exitOverride()
    .action((name: string) => upgradeFinishCommand(name));
  upgrade.command('rollback')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--discard-writes', 'after the cutover: roll back although writes made on the new major since then are not carried back', false)
    .description('undo a blue-green upgrade: before its cutover the new members go; after it the old major serves again')
    .exitOverride()
    .action((name: string, o: { discardWrites: boolean }) => upgradeRollbackCommand(name, o));
  upgrade.command('status')
    .argument('<name>', 'cluster name', (v: string) => parseClusterName(v))
    .option('--json', 'print the status as JSON', false)
    .description('the newest upgrade of a cluster: its method, majors, state, phase, and (blue-green) replication lag')
    .exitOverride()
    .action((name: string, o: { json: boolean }) => upgradeStatusCommand(name, o));
}
