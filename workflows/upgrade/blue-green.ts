/**
 * UpgradeBlueGreen (`dbaas upgrade NAME --to 17 --method blue-green`): the next major's members
 * built beside the serving ones, fed by logical replication, then a cutover of seconds
 * (docs/design/blue-green-upgrade.md).
 *
 * The checks refuse with the reason and change nothing: the cluster as a whole (as for in-place),
 * what logical replication cannot carry per database, and whether the leader can feed a logical
 * copy (wal_level, slots). Then the next generation is built (same shape, new major), the roles and
 * schema copied, every table of every database replicated, and its lag followed until caught up.
 * The cutover is not built yet: the run then removes what it built (as a rollback before the
 * cutover does) and refuses with that, leaving the cluster as it found it. A failure or a
 * cancellation anywhere after the build began removes it too.
 */
import { CancellationScope, sleep } from '@temporalio/workflow';
import { leaseStep } from '../../common/lease';
import { logicalCopyCapacityProblem, replicationBlockersProblem } from '../../common/logical-replication';
import { versionOf, type PostgresVersion } from '../../common/postgres-version';
import type { ClusterSpec } from '../../common/spec';
import type { CopyEnds } from '../../activities/upgrade/logical-copy';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { cleanup, longRunning, quick } from '../activity-options';
import { withClusterLease } from '../lease';
import { refuse } from '../refusals';
import { Steps } from '../steps';
import { checkUpgradeInput, clusterUpgradeProblem } from './checks';
import { buildNextGeneration, buildStepNames, removeGenerationMembers, removeNextGeneration, removeStepName, type NextGeneration } from './next-generation';
import { reportUpgradeStatus } from './status';

export interface UpgradeBlueGreenInput {
  cluster: string;
  to: PostgresVersion;
}

const CHECK_STEP = 'check the cluster can be upgraded';
const CARRY_STEP = 'check what logical replication can carry, database by database';
const CHOOSE_STEP = 'choose the next generation\'s members';
const PASSFILE_STEP = 'give the new members the old leader\'s address and credentials (a passfile)';
const ROLES_STEP = 'copy the roles (pg_dumpall --globals-only)';
const SCHEMA_STEP = 'copy the schema of every database (pg_dump --schema-only)';
const COPY_STEP = 'replicate every table of every database (a publication and a subscription each)';
const CATCH_UP_STEP = 'wait for the new members to catch up';
const UNDO_COPY_STEP = 'drop the subscriptions, publications and slots';

/** The copy counts as caught up within this lag of the old leader's WAL. */
const CAUGHT_UP_BYTES = 1024 * 1024;
/** How long the copy may stand still (nothing copied, the lag not shrinking) before the upgrade gives up. */
const COPY_STALL_MS = 15 * 60_000;

export const BLUE_GREEN_NOT_BUILT = 'the cutover of --method blue-green is not built yet';

export async function upgradeBlueGreen(input: UpgradeBlueGreenInput): Promise<never> {
  checkUpgradeInput(input);
  const steps = new Steps('upgrade', input.cluster, [leaseStep(input.cluster), CHECK_STEP, CARRY_STEP, CHOOSE_STEP]);
  const status = reportUpgradeStatus({ method: 'blue-green', from: null, to: input.to, pastPointOfNoReturn: false, replicationLagBytes: null });
  return withClusterLease(steps, input.cluster, () => upgradeUnderLease(input, steps, status));
}

async function upgradeUnderLease(input: UpgradeBlueGreenInput, steps: Steps, status: UpgradeStatus): Promise<never> {
  const { cluster, to } = input;
  const plan = await steps.run(CHECK_STEP, async () => {
    const d = await quick.describeCluster(cluster);
    status.from = versionOf(d.settings);
    const problem = clusterUpgradeProblem(d, cluster, to, 'blue-green');
    if (problem || !d.leader) refuse(problem ?? `cluster ${cluster} cannot be upgraded now`);
    const byLeaderFirst = [...d.members].sort((a, b) => Number(b.name === d.leader) - Number(a.name === d.leader));
    return {
      leader: d.leader, namesInUse: d.namesInUse,
      shape: byLeaderFirst.map((m) => ({ readOnly: m.readOnly })),
      spec: { name: cluster, replicas: d.members.length - 1, ...d.settings, postgresVersion: to, backups: false } satisfies ClusterSpec,
    };
  });
  await steps.run(CARRY_STEP, async () => {
    const problem = replicationBlockersProblem(cluster, await quick.replicationBlockers({ cluster, member: plan.leader }))
      ?? logicalCopyCapacityProblem(cluster, await quick.logicalCopyCapacity({ cluster, member: plan.leader }));
    if (problem) refuse(problem);
  });
  const chosen = await steps.run(CHOOSE_STEP, async () => {
    const g = await quick.nextGeneration({ cluster, namesInUse: plan.namesInUse, count: plan.shape.length });
    return {
      leftovers: g.leftovers.map((name) => ({ name, readOnly: false })),
      next: { cluster, generation: g.generation, spec: plan.spec, members: g.members.map((name, i) => ({ name, readOnly: plan.shape[i]!.readOnly })) },
    };
  });
  const next: NextGeneration = chosen.next;
  if (chosen.leftovers.length > 0) {
    // An earlier run of this upgrade stopped without removing what it built (it may hold another
    // major, or a half-made copy): it goes first.
    const leftovers = { ...next, members: chosen.leftovers };
    await steps.run(`remove what an earlier run left of generation ${next.generation} (${chosen.leftovers.map((m) => m.name).join(', ')})`, async () => {
      await cleanup.removeLogicalCopy({ cluster, generation: next.generation, newMembers: chosen.leftovers.map((m) => m.name) });
      await removeGenerationMembers(leftovers);
    });
  }
  steps.plan([...buildStepNames(next), PASSFILE_STEP, ROLES_STEP, SCHEMA_STEP, COPY_STEP, CATCH_UP_STEP, UNDO_COPY_STEP, removeStepName(next)]);

  try {
    const subscriber = await buildNextGeneration(steps, next);
    const ends = { cluster, publisher: plan.leader, subscriber, generation: next.generation, to };
    await steps.run(PASSFILE_STEP, () => Promise.all(next.members.map((m) =>
      quick.writeCopyPassfile({ cluster, member: m.name, publisher: plan.leader, generation: next.generation }))));
    await steps.run(ROLES_STEP, () => longRunning.copyRoles(ends));
    await steps.run(SCHEMA_STEP, () => longRunning.copySchema(ends));
    await steps.run(COPY_STEP, async () => {
      await quick.keepCopySlots({ cluster, keep: true });
      return longRunning.startLogicalCopy(ends);
    });
    await steps.run(CATCH_UP_STEP, () => waitForCatchUp(steps, status, ends));
  } catch (err) {
    await undo(steps, next);
    throw err;
  }
  // Until the cutover is built, a caught-up copy is taken down again as a rollback before the cutover would.
  await undo(steps, next);
  refuse(`${BLUE_GREEN_NOT_BUILT}: generation ${next.generation} (${next.members.map((m) => m.name).join(', ')}) was built on PostgreSQL ${to}, copied and caught up, then removed; ${cluster} runs on PostgreSQL ${status.from} as before. --method in-place upgrades offline`);
}

/** Follows the copy until every table is copied and the lag is under CAUGHT_UP_BYTES, reporting the lag to `upgrade status`. */
async function waitForCatchUp(steps: Steps, status: UpgradeStatus, ends: CopyEnds): Promise<void> {
  let best = { pending: Number.MAX_SAFE_INTEGER, applied: '' };
  let movedAt = Date.now();
  // Polls stay few over a long copy (each is a few events in the history): every 30 s at most.
  for (let interval = 1000; ; interval = Math.min(interval * 2, 30_000)) {
    const p = await quick.logicalCopyProgress(ends);
    status.replicationLagBytes = p.lagBytes;
    steps.note(CATCH_UP_STEP, `${p.pendingTables} table${p.pendingTables === 1 ? '' : 's'} still copying, lag ${p.lagBytes ?? 'not reported yet'} bytes`);
    if (p.pendingTables === 0 && p.lagBytes !== null && p.lagBytes <= CAUGHT_UP_BYTES) return;
    // Moving: a table finished its initial copy, or the applied position went on (under steady
    // writes the lag may hover above the threshold while the copy keeps up).
    if (p.pendingTables < best.pending || (p.appliedLsn !== null && p.appliedLsn !== best.applied)) {
      best = { pending: Math.min(best.pending, p.pendingTables), applied: p.appliedLsn ?? best.applied };
      movedAt = Date.now();
    } else if (Date.now() - movedAt > COPY_STALL_MS) {
      throw new Error(`the copy stood still for ${COPY_STALL_MS / 60_000} minutes (${p.pendingTables} tables still copying, lag ${p.lagBytes ?? 'unknown'} bytes)`);
    }
    await sleep(interval);
  }
}

/**
 * The copy and the generation go, whatever of them was made: a rollback before the cutover. The
 * generation goes even when the copy's removal fails (that failure is then the run's).
 */
async function undo(steps: Steps, next: NextGeneration): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await steps.run(UNDO_COPY_STEP, async () => {
        await cleanup.removeLogicalCopy({ cluster: next.cluster, generation: next.generation, newMembers: next.members.map((m) => m.name) });
        await cleanup.keepCopySlots({ cluster: next.cluster, keep: false });
      });
    } finally {
      await removeNextGeneration(steps, next);
    }
  });
}
