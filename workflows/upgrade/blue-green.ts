/**
 * UpgradeBlueGreen (`dbaas upgrade NAME --to 17 --method blue-green`): the next major's members
 * built beside the serving ones, fed by logical replication, then a cutover of seconds
 * (docs/design/blue-green-upgrade.md).
 *
 * The checks refuse with the reason and change nothing: the cluster as a whole (as for in-place),
 * what logical replication cannot carry per database, and whether the leader can feed a logical
 * copy (wal_level, slots). Then the next generation is built (same shape, new major), the roles and
 * schema copied, every table of every database replicated and its lag followed until caught up,
 * a full backup of the serving generation taken meanwhile (workflows/upgrade/backup-before.ts).
 * The cutover (workflows/upgrade/cutover.ts) pauses the poolers, stops writes on the old leader,
 * waits for the copy to apply its last write, carries the sequences over, makes the new generation
 * the serving one behind HAProxy and resumes. The old generation stays, read-only, until `upgrade
 * finish` (it goes) or `upgrade rollback` (workflows/upgrade/rollback.ts: it serves again; writes
 * made on the new major since the cutover are not carried back). A failure, cancellation or
 * rollback before the cutover removes the new generation.
 */
import { ApplicationFailure, CancellationScope, condition } from '@temporalio/workflow';
import { innermostMessage } from '../../common/error-chain';
import { leaseStep } from '../../common/lease';
import { logicalCopyCapacityProblem, replicationBlockersProblem } from '../../common/logical-replication';
import { versionOf, type PostgresVersion } from '../../common/postgres-version';
import type { ClusterPorts, ClusterSpec } from '../../common/spec';
import type { CopyEnds } from '../../activities/upgrade/logical-copy';
import { AWAIT_DECISION_AGAIN_STEP, AWAIT_DECISION_STEP, type UpgradeStatus } from '../../common/upgrade-status';
import { cleanup, longRunning, quick } from '../activity-options';
import { withClusterLease } from '../lease';
import { refuse } from '../refusals';
import { Steps } from '../steps';
import { planBackupBeforeCutover, upgradeBackup, type BackupBeforeCutover } from './backup-before';
import { checkUpgradeInput, clusterUpgradeProblem } from './checks';
import { cutover, cutoverStepNames, type Cutover } from './cutover';
import { acceptDecisions, beginCutover, nextDecision, type Decision } from './decision';
import { checkServes, finish } from './finish';
import { buildNextGeneration, buildStepNames, removeGenerationMembers, removeNextGeneration, type NextGeneration } from './next-generation';
import { rollbackAfterCutover } from './rollback';
import { reportUpgradeStatus } from './status';
import { moveStanza, stanzaMoveStepNames, type StanzaMove, type StanzaState } from './stanza-move';
import { keepsMovedTo, putBackIncomplete } from './put-back';
import { writePauseLimit } from './write-pause';

export interface UpgradeBlueGreenInput {
  cluster: string;
  to: PostgresVersion;
  /** Overrides for tests: how long writes may stay paused (default WRITE_PAUSE_LIMIT_MS, workflows/upgrade/write-pause.ts). */
  writePauseLimitMs?: number;
  /** false: no backup of the serving generation before the cutover (`upgrade --no-backup`); default true. */
  backupBeforeCutover?: boolean;
}

export interface UpgradeBlueGreenResult {
  cluster: string;
  from: PostgresVersion;
  to: PostgresVersion;
  /** finished: the new major serves and the old members are gone; rolled-back: the old major serves, the new members are gone. */
  outcome: 'finished' | 'rolled-back';
  /** How long writes were paused at the cutover; null when the run was rolled back before it. */
  writePauseMs: number | null;
  /** The serving leader at the end. */
  leader: string;
  /** The old major's full backup taken before the cutover, or why none was (absent in runs from before it took one). */
  backupBefore?: UpgradeStatus['backupBefore'];
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
const DISABLE_STEP = 'stop the subscriptions (kept until finish)';
const DECIDE_STEP = AWAIT_DECISION_STEP;

/** The copy counts as caught up within this lag of the old leader's WAL. */
const CAUGHT_UP_BYTES = 1024 * 1024;
/** How long the copy may stand still (nothing copied, the lag not shrinking) before the upgrade gives up. */
const COPY_STALL_MS = 15 * 60_000;

export async function upgradeBlueGreen(input: UpgradeBlueGreenInput): Promise<UpgradeBlueGreenResult> {
  checkUpgradeInput(input);
  const steps = new Steps('upgrade', input.cluster, [leaseStep(input.cluster), CHECK_STEP, CARRY_STEP, CHOOSE_STEP]);
  const status = reportUpgradeStatus({
    method: 'blue-green', from: null, to: input.to, pastPointOfNoReturn: false, replicationLagBytes: null, cutOver: false, writePauseMs: null, awaitingDecision: false, decisions: 0,
  });
  const decision = acceptDecisions(status);
  return withClusterLease(steps, input.cluster, () => upgradeUnderLease(input, steps, status, decision));
}

async function upgradeUnderLease(input: UpgradeBlueGreenInput, steps: Steps, status: UpgradeStatus, decision: Decision): Promise<UpgradeBlueGreenResult> {
  const { cluster, to } = input;
  const plan = await steps.run(CHECK_STEP, async () => {
    const d = await quick.describeCluster(cluster);
    status.from = versionOf(d.settings);
    const problem = clusterUpgradeProblem(d, cluster, to, 'blue-green');
    if (problem || !d.leader) refuse(problem ?? `cluster ${cluster} cannot be upgraded now`);
    const byLeaderFirst = [...d.members].sort((a, b) => Number(b.name === d.leader) - Number(a.name === d.leader));
    return {
      leader: d.leader, namesInUse: d.namesInUse, ports: d.ports!, oldMembers: byLeaderFirst.map((m) => m.name),
      shape: byLeaderFirst.map((m) => ({ readOnly: m.readOnly })),
      spec: { name: cluster, replicas: d.members.length - 1, ...d.settings, postgresVersion: to } satisfies ClusterSpec,
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
  const backups = plan.spec.backups !== false;
  const limitMs = input.writePauseLimitMs ?? writePauseLimit();
  /** Which major the stanza is at: it moves with the serving generation (workflows/upgrade/stanza-move.ts). */
  const stanza: StanzaState = { major: null };
  if (chosen.leftovers.length > 0) {
    // An earlier run of this upgrade stopped without removing what it built (it may hold another
    // major, or a half-made copy): it goes first.
    const leftovers = { ...next, members: chosen.leftovers };
    await steps.run(`remove what an earlier run left of generation ${next.generation} (${chosen.leftovers.map((m) => m.name).join(', ')})`, async () => {
      await cleanup.removeLogicalCopy({ cluster, generation: next.generation, newMembers: chosen.leftovers.map((m) => m.name) });
      await removeGenerationMembers(leftovers);
    });
  }
  // The cutover's steps as far as they are known: the new leader is its first member but for a failover.
  const planned: Cutover = {
    copy: { cluster, publisher: plan.leader, subscriber: next.members[0]!.name, generation: next.generation, to }, profile: plan.spec.profile, statsPort: plan.ports.stats, limitMs,
  };
  const from = status.from!;
  const backupFirst = planBackupBeforeCutover({ cluster, from, backups, wanted: input.backupBeforeCutover !== false });
  steps.plan([...buildStepNames(next), PASSFILE_STEP, ROLES_STEP, SCHEMA_STEP, COPY_STEP, ...(backupFirst ? [backupFirst.step] : []), CATCH_UP_STEP,
    ...cutoverStepNames(planned), DISABLE_STEP, ...(backups ? stanzaMoveStepNames({ cluster, generation: next.generation, to, oldLeader: plan.leader }) : []), DECIDE_STEP]);

  let ends: CopyEnds;
  try {
    const subscriber = await buildNextGeneration(steps, next);
    ends = { cluster, publisher: plan.leader, subscriber, generation: next.generation, to };
    const copy = ends;
    await steps.run(PASSFILE_STEP, () => Promise.all(next.members.map((m) =>
      quick.writeCopyPassfile({ cluster, member: m.name, publisher: plan.leader, generation: next.generation }))));
    await steps.run(ROLES_STEP, () => longRunning.copyRoles(copy));
    await steps.run(SCHEMA_STEP, () => longRunning.copySchema(copy));
    await steps.run(COPY_STEP, async () => {
      await quick.keepCopySlots({ cluster, keep: true });
      return longRunning.startLogicalCopy(copy);
    });
    if (backupFirst) await backUpServingGeneration(steps, status, cluster, backupFirst);
    await steps.run(CATCH_UP_STEP, () => waitForCatchUp(steps, status, copy, decision));
    if (decision.wanted === 'rollback') throw new RolledBack();
    beginCutover(decision);
    status.writePauseMs = await cutover(steps, status, { ...planned, copy });
  } catch (err) {
    // The old generation could not be made the serving one again: the new one keeps serving, and
    // stays. So does one HAProxy may still send clients to, or clients may have written to.
    if (status.cutOver || keepsMovedTo(err)) throw err;
    await undo(steps, next);
    if (err instanceof RolledBack) return { cluster, from, to, outcome: 'rolled-back', writePauseMs: null, leader: plan.leader, ...backupBeforeOf(status) };
    throw err;
  }
  // From the cutover on, the run ends only with `finish` or `rollback`: a cancellation would leave
  // both generations and nobody to decide.
  return CancellationScope.nonCancellable(() => afterCutover(steps, status, decision, { plan, next, ends, from, to, backups, stanza, limitMs }));
}

interface CutOver {
  plan: Plan;
  next: NextGeneration;
  ends: CopyEnds;
  from: PostgresVersion;
  to: PostgresVersion;
  backups: boolean;
  stanza: StanzaState;
  limitMs: number;
}

/** The new major serves: its subscriptions stop, its backups start, and the operator decides. */
async function afterCutover(steps: Steps, status: UpgradeStatus, decision: Decision, c: CutOver): Promise<UpgradeBlueGreenResult> {
  const { plan, next, ends, from, to, backups, stanza, limitMs } = c;
  const backupBefore = backupBeforeOf(status);
  const { cluster } = next;
  // Stopped rather than left to run: nothing more comes (the old leader is read-only). Not needed
  // for what follows, so a failure only shows on the step.
  await steps.run(DISABLE_STEP, () => quick.disableSubscriptions({ cluster, generation: next.generation, members: next.members.map((m) => m.name) })).catch(() => undefined);
  const forward: StanzaMove = { cluster, generation: next.generation, to, oldLeader: plan.leader };
  if (backups) {
    stanza.major = from;
    // A failure here leaves the cutover standing: the decision still comes, `upgrade status` shows
    // the failure, and `finish` tries again.
    await moveStanza(steps, forward, stanza).catch(() => undefined);
    status.backupProblem = stanza.failed ?? null;
  }
  // A finish or a rollback that fails before it changed what serves (the new major's backup, the
  // check that it serves, the leaders' lookup, a rollback fully put back) comes back here: both
  // generations stand, the new one serving, and the operator decides again. The run ends only with
  // one that went through, or with a rollback whose put-back did not fully happen.
  let waitStep = DECIDE_STEP;
  for (;;) {
    const wanted = await nextDecision(steps, waitStep, decision, status);
    let leaders: { old: string; new: string } | undefined;
    try {
      if (wanted === 'finish') {
        // The old generation goes only once the new major's backups stand.
        // Not `stanza.major`: a stanza-upgrade that went through before its check failed moved the
        // stanza, but no full backup on the new major stands yet.
        if (backups && stanza.backedUp !== to) {
          await moveStanza(steps, forward, stanza);
          status.backupProblem = null;
        }
        await checkServes(steps, next, plan.ports.stats);
      } else {
        leaders = await rollbackAfterCutover(steps, status, {
          cluster, generation: next.generation, oldMembers: plan.oldMembers, newMembers: next.members.map((m) => m.name), profile: plan.spec.profile, statsPort: plan.ports.stats, limitMs,
        });
      }
    } catch (err) {
      // The old generation serves again, or a part of the put-back failed (HAProxy may point
      // anywhere, a generation may be read-only): deciding again on the same terms is not possible.
      if (!status.cutOver || putBackIncomplete(err)) throw err;
      status.decisionProblem = `${wanted === 'finish' ? 'upgrade finish' : 'upgrade rollback'} failed: ${innermostMessage(err)}`;
      waitStep = AWAIT_DECISION_AGAIN_STEP;
      continue;
    }
    status.decisionProblem = null;
    if (leaders) return { ...(await afterRollback(steps, next, stanza, { from, to, leaders, writePauseMs: status.writePauseMs ?? null })), ...backupBefore };
    await finish(steps, next, { members: plan.oldMembers, spec: plan.spec });
    return { cluster, from, to, outcome: 'finished', writePauseMs: status.writePauseMs ?? null, leader: ends.subscriber, ...backupBefore };
  }
}

/** After a rollback that went through: the copy, the stanza back on the old major, generation 2 removed. */
async function afterRollback(steps: Steps, next: NextGeneration, stanza: StanzaState,
  r: { from: PostgresVersion; to: PostgresVersion; leaders: { old: string; new: string }; writePauseMs: number | null }): Promise<UpgradeBlueGreenResult> {
  const { from, to, leaders } = r;
  const { cluster } = next;
  // The copy goes first: its slots on the old leader keep every WAL segment written since the
  // cutover, and that leader takes writes again (the stanza's move below ends in a full backup,
  // which may take long or fail). Then the stanza back on the old major (if it moved), the new
  // major's last writes in its history (a restore can still reach them), before the new generation goes.
  await undo(steps, next, async () => {
    if (stanza.major !== to) return;
    const back: StanzaMove = { cluster, generation: next.generation - 1, to: from, oldLeader: leaders.new };
    steps.plan(stanzaMoveStepNames(back));
    await moveStanza(steps, back, stanza);
  });
  return { cluster, from, to, outcome: 'rolled-back', writePauseMs: r.writePauseMs, leader: leaders.old };
}

/**
 * The way back to a moment before the cutover once the old generation is gone (`restore
 * --to-time`): a full backup of it, taken before the pause and not inside it. It runs while the
 * copy's initial sync goes on; the catch-up that follows absorbs what the copy fell behind
 * meanwhile, so the pause does not pay for the backup. A failure ends the run before anything
 * serves from the new major (the new generation goes, as for any failure before the cutover).
 */
async function backUpServingGeneration(steps: Steps, status: UpgradeStatus, cluster: string, b: BackupBeforeCutover): Promise<void> {
  if (b.skipped !== undefined) {
    steps.skip(b.step, b.skipped);
    status.backupBefore = { none: b.skipped };
    return;
  }
  // Expires nothing: the backups this run takes later expire nothing either (backup-before.ts).
  const made = await steps.run(b.step, () => upgradeBackup({ cluster, type: 'full', expire: false }));
  status.backupBefore = { label: made.label, stoppedAt: made.stoppedAt };
}

/** The result's backupBefore, left out for a run from before it took one. */
const backupBeforeOf = (status: UpgradeStatus): Pick<UpgradeBlueGreenResult, 'backupBefore'> => (status.backupBefore ? { backupBefore: status.backupBefore } : {});

/** A rollback asked for before the cutover: the run takes the new generation down and ends. */
class RolledBack extends Error {}

interface Plan {
  leader: string;
  ports: ClusterPorts;
  spec: ClusterSpec;
  oldMembers: string[];
}

/** Follows the copy until every table is copied and the lag is under CAUGHT_UP_BYTES, reporting the lag to `upgrade status`. */
async function waitForCatchUp(steps: Steps, status: UpgradeStatus, ends: CopyEnds, decision: Decision): Promise<void> {
  let best = { pending: Number.MAX_SAFE_INTEGER, applied: '' };
  let movedAt = Date.now();
  // Polls stay few over a long copy (each is a few events in the history): every 30 s at most.
  for (let interval = 1000; decision.wanted !== 'rollback'; interval = Math.min(interval * 2, 30_000)) {
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
      throw ApplicationFailure.nonRetryable(`the copy stood still for ${COPY_STALL_MS / 60_000} minutes (${p.pendingTables} tables still copying, lag ${p.lagBytes ?? 'unknown'} bytes)`);
    }
    await condition(() => decision.wanted === 'rollback', interval);
  }
}

/**
 * The copy and the generation go, whatever of them was made (a rollback), with `beforeRemoval` in
 * between. The generation goes even when the copy's removal or `beforeRemoval` fails (that failure
 * is then the run's).
 */
async function undo(steps: Steps, next: NextGeneration, beforeRemoval: () => Promise<void> = async () => undefined): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await steps.run(UNDO_COPY_STEP, async () => {
        await cleanup.removeLogicalCopy({ cluster: next.cluster, generation: next.generation, newMembers: next.members.map((m) => m.name) });
        await cleanup.keepCopySlots({ cluster: next.cluster, keep: false });
      });
    } finally {
      try {
        await beforeRemoval();
      } finally {
        await removeNextGeneration(steps, next);
      }
    }
  });
}
