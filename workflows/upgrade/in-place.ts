/**
 * UpgradeInPlace (`dbaas upgrade NAME --to 17 --method in-place`): the cluster's own data moves to
 * the next PostgreSQL major with `pg_upgrade --link`, offline, keeping the cluster's name, ports,
 * credentials and certificates.
 *
 * A backup first; then the replicas stop, then the leader (replicas first: none is promoted);
 * `pg_upgrade --check` in a helper that has both majors' binaries (refused: the members start
 * again as they were, and the reason is the answer); `pg_upgrade --link` (from here on the old
 * major does not come back: the backup is the way back); the old cluster's state in etcd goes,
 * its configuration stays; the leader starts on the new image; the stanza learns the new major;
 * the replicas are cloned anew; statistics are rebuilt; a first backup on the new major.
 */
import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import { ErrorTypes } from '../../common/error-types';
import { leaseStep } from '../../common/lease';
import { memberPort } from '../../common/ports';
import { versionOf, type PostgresVersion } from '../../common/postgres-version';
import type { ClusterSpec } from '../../common/spec';
import type { BackupSummary } from '../../common/backup';
import { cleanup, longRunning, quick, waits } from '../activity-options';
import { backupBeforeStep, upgradeBackup } from './backup-before';
import { checkUpgradeInput, clusterUpgradeProblem } from './checks';
import { onLeaderHost } from '../leader-host';
import { withClusterLease } from '../lease';
import { refuse } from '../refusals';
import { Steps } from '../steps';
import { reportUpgradeStatus } from './status';
import type { UpgradeStatus } from '../../common/upgrade-status';

export interface UpgradeInPlaceInput {
  cluster: string;
  to: PostgresVersion;
}

export interface UpgradeInPlaceResult {
  cluster: string;
  from: PostgresVersion;
  to: PostgresVersion;
  leader: string;
  replicas: string[];
  /** The backup taken on the old major right before the upgrade, and the first one on the new. */
  backupBefore: BackupSummary;
  backupAfter: BackupSummary;
}

/** A re-cloned replica counts as caught up within this lag (Patroni's default maximum_lag_on_failover). */
const CAUGHT_UP_BYTES = 1024 * 1024;
const CHECK_STEP = 'check the cluster can be upgraded';
const ANALYZE_STEP = 'rebuild planner statistics (vacuumdb --all --analyze-in-stages)';

export async function upgradeInPlace(input: UpgradeInPlaceInput): Promise<UpgradeInPlaceResult> {
  checkUpgradeInput(input);
  const steps = new Steps('upgrade', input.cluster, [leaseStep(input.cluster), CHECK_STEP]);
  const status = reportUpgradeStatus({ method: 'in-place', from: null, to: input.to, pastPointOfNoReturn: false, replicationLagBytes: null });
  return withClusterLease(steps, input.cluster, () => upgradeUnderLease(input, steps, status));
}

async function upgradeUnderLease(input: UpgradeInPlaceInput, steps: Steps, status: UpgradeStatus): Promise<UpgradeInPlaceResult> {
  const { cluster, to } = input;
  const plan = await steps.run(CHECK_STEP, async () => {
    const d = await quick.describeCluster(cluster);
    const from = versionOf(d.settings);
    const problem = clusterUpgradeProblem(d, cluster, to, 'in-place');
    if (problem || !d.leader || !d.ports) refuse(problem ?? `cluster ${cluster} cannot be upgraded now`);
    // pg_upgrade --link: once 17 has started, the 15 data is gone but for the backup.
    if (!d.settings.backups) refuse(`cluster ${cluster} has no backups, so nothing would bring it back from an in-place upgrade (--link leaves no usable 15 copy): \`dbaas backup enable ${cluster}\` first`);
    const image = await quick.upgradeHelperImageProblem();
    if (image) refuse(image);
    const before = (await quick.backupStatus(cluster)).backups.map((b) => b.label);
    return {
      from, before, leader: d.leader, rw: d.ports.rw,
      replicas: d.members.filter((m) => m.name !== d.leader).map((m) => ({ name: m.name, readOnly: m.readOnly })),
      spec: { name: cluster, replicas: d.members.length - 1, ...d.settings } satisfies ClusterSpec,
    };
  });
  const { from, leader, replicas } = plan;
  status.from = from;
  const oldSpec: ClusterSpec = plan.spec;
  const newSpec: ClusterSpec = { ...oldSpec, postgresVersion: to };
  const names = [leader, ...replicas.map((r) => r.name)];

  const backupStep = backupBeforeStep(from, 'incr');
  const stopStep = (m: string): string => `stop ${m}${m === leader ? ' (the leader, last: no replica takes over)' : ''}`;
  const checkStep = `pg_upgrade --check on ${leader}'s data`;
  const archiveStep = `archive ${leader}'s current WAL (the way back reaches this moment)`;
  const linkStep = `pg_upgrade --link on ${leader}'s data (from here the way back is the backup)`;
  const recloneStep = (m: string): string => `re-create ${m} on PostgreSQL ${to} (a new clone of ${leader})`;
  const streamStep = (m: string): string => `wait for ${m} streaming`;
  steps.plan([
    backupStep,
    ...replicas.map((r) => stopStep(r.name)), archiveStep, stopStep(leader),
    checkStep, linkStep,
    'forget the old cluster\'s state in etcd (its configuration stays)',
    `start ${leader} on PostgreSQL ${to}`, `wait for ${leader} to lead`,
    'upgrade the backup stanza (stanza-upgrade, check)',
    ANALYZE_STEP,
    ...replicas.flatMap((r) => [recloneStep(r.name), streamStep(r.name)]),
    `remove PostgreSQL ${from}'s data directory from ${leader}`,
    `first backup on PostgreSQL ${to} (full)`,
  ]);

  const backupBefore = await steps.run(backupStep, () => upgradeBackup({ cluster, type: 'incr', before: plan.before }));

  const startOldAgain = `start the members again on PostgreSQL ${from} (nothing changed)`;
  /** Before the link, the old data is whole: a refusal or a failure leaves the cluster as it was. */
  // The leader alone first: a replica stopped before its last writes must not win the race and have them rewound away.
  const asItWas = (): Promise<void> => CancellationScope.nonCancellable(() => steps.run(startOldAgain, async () => {
    await cleanup.startStoppedMember({ cluster, member: leader });
    await waits.waitForLeader({ cluster, members: [leader] });
    for (const r of replicas) await cleanup.startStoppedMember({ cluster, member: r.name });
  }));
  /** pg_upgrade in the helper: null when it went through, its reason when it refused the data; any other failure throws. */
  const pgUpgrade = async (mode: 'check' | 'upgrade'): Promise<string | null> => {
    try {
      await longRunning.runPgUpgrade({ cluster, member: leader, from, to, mode });
      return null;
    } catch (err) {
      const reason = refusalOf(err);
      if (reason === null) throw err;
      return reason;
    }
  };
  try {
    for (const r of replicas) await steps.run(stopStep(r.name), () => quick.stopMemberKeepingContainer({ cluster, member: r.name }));
    // The WAL written since the backup goes to the repository before the leader stops: a restore to a
    // moment before the upgrade reaches it.
    await steps.run(archiveStep, () => onLeaderHost(cluster, (on) => on.waits.archiveCurrentWal(cluster)));
    await steps.run(stopStep(leader), () => quick.stopMemberKeepingContainer({ cluster, member: leader }));
    const refused = await steps.run(checkStep, () => pgUpgrade('check'));
    if (refused !== null) {
      await asItWas();
      refuse(refused);
    }
  } catch (err) {
    if (!isRefusal(err)) await asItWas();
    throw err;
  }
  // Only pg_upgrade's own refusal (its checks again, before it links: the script put pg_control
  // back) leaves the old data whole. Any other failure is retried, and the script picks up where
  // it stopped; one that outlasts the retries leaves the members stopped: starting 15 on data
  // that may be half-linked or already 17 could lose it.
  status.pastPointOfNoReturn = true;
  const linkRefused = await steps.run(linkStep, () => pgUpgrade('upgrade'));
  if (linkRefused !== null) {
    // pg_upgrade refused before it linked anything: the old data is whole.
    status.pastPointOfNoReturn = false;
    await asItWas();
    refuse(linkRefused);
  }
  await steps.run('forget the old cluster\'s state in etcd (its configuration stays)', () => quick.forgetClusterState(cluster));
  await steps.run(`start ${leader} on PostgreSQL ${to}`, () =>
    quick.replacePostgresMember({ spec: newSpec, member: leader, nofailover: false, directPort: memberPort(plan.rw, leader) }));
  await steps.run(`wait for ${leader} to lead`, () => waits.waitForLeader({ cluster, members: [leader] }));
  await steps.run('upgrade the backup stanza (stanza-upgrade, check)', () => onLeaderHost(cluster, (on) => on.waits.upgradeStanza(cluster)));
  // Queries plan on statistics again before the (possibly long) clones of the replicas.
  await steps.run(ANALYZE_STEP, () => longRunning.analyzeAfterUpgrade({ cluster, member: leader, version: to }));

  for (const r of replicas) {
    await steps.run(recloneStep(r.name), async () => {
      // Its data is PostgreSQL's previous major: a copy of the old leader's, which the backup holds.
      await quick.stopMember({ cluster, member: r.name });
      await quick.removeMemberVolume({ cluster, member: r.name });
      await quick.startPostgresMember({ spec: newSpec, member: r.name, nofailover: r.readOnly, directPort: memberPort(plan.rw, r.name) });
    });
    await steps.run(streamStep(r.name), () => waits.waitForReplicaStreaming({ cluster, member: r.name, members: names, maxLagBytes: CAUGHT_UP_BYTES }));
  }
  await steps.run(`remove PostgreSQL ${from}'s data directory from ${leader}`, () => quick.removeOldData({ cluster, member: leader, from }));
  // The backups listed before it (15's): the run finds its own by difference.
  const backupAfter = await steps.run(`first backup on PostgreSQL ${to} (full)`, () => upgradeBackup({ cluster, type: 'full' }));
  return { cluster, from, to, leader, replicas: replicas.map((r) => r.name), backupBefore, backupAfter };
}

/** This workflow's own refusal (the members already started again). */
const isRefusal = (err: unknown): boolean => err instanceof ApplicationFailure && err.type === 'MemberRefused';

/** pg_upgrade's refusal (its reason), or null for any other failure. */
function refusalOf(err: unknown): string | null {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure && e.type === ErrorTypes.UpgradeRefused) return e.message;
    e = e.cause;
  }
  return null;
}
