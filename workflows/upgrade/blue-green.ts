/**
 * UpgradeBlueGreen (`dbaas upgrade NAME --to 17 --method blue-green`): a new cluster on the next
 * major, fed by logical replication from the old one, then a cutover of seconds. Built so far:
 * its checks, which refuse with the reason and change nothing — the cluster as a whole (as for
 * in-place), then, per database, what logical replication cannot carry (tables without a replica
 * identity, unlogged tables, large objects). The copy and the cutover are not built yet: a
 * cluster that passes the checks is refused with that.
 */
import { leaseStep } from '../../common/lease';
import { replicationBlockersProblem } from '../../common/logical-replication';
import { versionOf, type PostgresVersion } from '../../common/postgres-version';
import { quick } from '../activity-options';
import { withClusterLease } from '../lease';
import { refuse } from '../refusals';
import { Steps } from '../steps';
import { checkUpgradeInput, clusterUpgradeProblem } from './checks';
import { reportUpgradeStatus } from './status';

export interface UpgradeBlueGreenInput {
  cluster: string;
  to: PostgresVersion;
}

const CHECK_STEP = 'check the cluster can be upgraded';
const CARRY_STEP = 'check what logical replication can carry, database by database';

export const BLUE_GREEN_NOT_BUILT = 'the copy and the cutover of --method blue-green are not built yet (its checks are): nothing was changed; --method in-place upgrades offline';

export async function upgradeBlueGreen(input: UpgradeBlueGreenInput): Promise<never> {
  checkUpgradeInput(input);
  const steps = new Steps('upgrade', input.cluster, [leaseStep(input.cluster), CHECK_STEP, CARRY_STEP]);
  const status = reportUpgradeStatus({ method: 'blue-green', from: null, to: input.to, pastPointOfNoReturn: false, replicationLagBytes: null });
  return withClusterLease(steps, input.cluster, async () => {
    const { cluster, to } = input;
    const plan = await steps.run(CHECK_STEP, async () => {
      const d = await quick.describeCluster(cluster);
      status.from = versionOf(d.settings);
      const problem = clusterUpgradeProblem(d, cluster, to, 'blue-green');
      if (problem || !d.leader) refuse(problem ?? `cluster ${cluster} cannot be upgraded now`);
      return { leader: d.leader };
    });
    await steps.run(CARRY_STEP, async () => {
      const found = await quick.replicationBlockers({ cluster, member: plan.leader });
      const problem = replicationBlockersProblem(cluster, found);
      if (problem) refuse(problem);
    });
    refuse(BLUE_GREEN_NOT_BUILT);
  });
}
