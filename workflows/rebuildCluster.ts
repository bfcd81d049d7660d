/**
 * RebuildCluster (`cluster rebuild NAME`; `cluster resize NAME --cpus --memory`): every member's
 * container re-created on the current image (after `dev up` rebuilt it: minor updates, security
 * fixes), data volumes kept, in the rolling restart's order (workflows/roll.ts): replicas one at a
 * time, a switchover to one already re-created, then the old leader. Reads go on through ro; writes
 * stop for one switchover.
 *
 * A resize re-creates the members with new Docker limits, and first PATCHes the parameters derived
 * from the new memory (common/sizes.ts) into the DCS through the activity `cluster config set` uses,
 * checked as it checks them: each new container starts PostgreSQL with them. They stay ordinary DCS
 * values that `cluster config set` may change later. A smaller memory lowers max_connections,
 * which a replica cannot run below its primary's: the leader restarts in place with it first
 * (workflows/leader-first.ts), or every member would come back with the old value, pending. So
 * does a rebuild (or a resize) when such a decrease, set without a restart, waits for the leader's
 * restart, as `cluster restart` finds it. A restart, not a re-creation, of the leader in place:
 * stopping its container stops Patroni, which releases the leader key, and a replica would take
 * over. The roll then goes as ever, switchover included (the leader still needs its new
 * container). The run ends by sizing the poolers' pools for the max_connections the leader now runs.
 *
 * Each member is re-created once, also when a worker dies mid-step: the first step records every
 * member's container id, and a re-create step that finds another container on the current image
 * only makes sure it runs (common/cluster-rebuild.ts rebuildStepDecision).
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import {
  rebuildInputProblem, resizeChanges,
  type RebuildClusterInput, type RebuildClusterResult, type RebuildSnapshot, type RebuiltMember,
} from '../common/cluster-rebuild';
import { planRestart, writeDowntimeLine } from '../common/cluster-restart';
import { leaseStep } from '../common/lease';
import { changeProblems, leaderFirstChanges, type ParameterChange } from '../common/set-parameters';
import { describeSize, resized, type MemberSize } from '../common/sizes';
import type { ClusterSpec } from '../common/spec';
import { quick, waits } from './activity-options';
import { decreasesWaitingForLeader, leaderFirstSteps, leaderGoesFirst, restartLeaderFirst } from './leader-first';
import { withClusterLease } from './lease';
import { POOLER_STEP, poolersFollow, resizePoolers } from './pooler-sizes';
import { refuse } from './refusals';
import { ClusterRoll, type MemberAction } from './roll';
import { Steps } from './steps';

export type { RebuildClusterInput, RebuildClusterResult } from '../common/cluster-rebuild';

const CHECK_STEP = "check the cluster and record each member's container";
const FINAL_STEP = 'check the members after the rebuild';
const SEEN_STEP = 'wait until every member runs with them or waits for a restart';

const writeStep = (changes: ParameterChange[]): string =>
  `write ${changes.map((c) => `${c.name}=${c.value}`).join(', ')} to the DCS (Patroni PATCH /config)`;

export async function rebuildCluster(input: RebuildClusterInput): Promise<RebuildClusterResult> {
  const problem = rebuildInputProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
  const { cluster } = input;
  const steps = new Steps(input.resize ? 'resize-cluster' : 'rebuild-cluster', cluster, [leaseStep(cluster), CHECK_STEP]);
  return withClusterLease(steps, cluster, () => rebuildUnderLease(input, steps));
}

async function rebuildUnderLease(input: RebuildClusterInput, steps: Steps): Promise<RebuildClusterResult> {
  const { cluster } = input;
  const { snap, plan, size, changes, writer, lowered } = await steps.run(CHECK_STEP, async () => {
    const s = await quick.rebuildSnapshot(cluster);
    const d = planRestart(s.restart, { operation: 'rebuild' });
    if (d.kind === 'refuse') refuse(d.reason);
    const unrecorded = s.restart.members.find((m) => s.containers[m.name] === undefined);
    if (unrecorded) refuse(`${unrecorded.name} of ${cluster} has no container to re-create; run the rebuild again`);
    const after = input.resize ? resized(s.settings.size, input.resize) : s.settings.size;
    const c = resizeChanges(input.resize, after ?? {});
    // Refused as `cluster config set` refuses them (an ALTER SYSTEM value on the leader would win over the DCS).
    const settings = c.length > 0 ? await quick.readParameterSettings({ cluster, names: c.map((x) => x.name) }) : undefined;
    const problems = settings ? changeProblems(c, settings.settings) : [];
    if (problems.length > 0) refuse(`the parameters of ${describeSize(after)}: ${problems.join('; ')}`);
    const resizing = settings ? leaderFirstChanges(c, settings.settings) : [];
    // Decreases set without a restart, as `cluster restart` finds them; a resize's own value of one replaces it.
    const others = s.restart.members.some((m) => m.name !== s.restart.leader);
    const waiting = (await decreasesWaitingForLeader(s.restart, () => others && patched('rebuild-leader-first'))).filter((n) => !c.some((x) => x.name === n));
    return { snap: s, plan: d, size: after, changes: c, writer: settings?.leader, lowered: [...resizing, ...waiting] };
  });
  const roll = new ClusterRoll(cluster, snap.restart, plan, steps, rebuildAction(cluster, snap, input.resize ? size : undefined));
  // The member the resize wrote through is the leader the check saw (the snapshot's, unless it just moved).
  const leader = writer ?? (snap.restart.leader as string);
  const replicas = snap.restart.members.map((m) => m.name).filter((m) => m !== leader);
  // Alone, the leader is re-created in place anyway (as primary: with the new values).
  const first = replicas.length > 0 && leaderGoesFirst(lowered) ? leaderFirstSteps(leader, lowered) : undefined;
  // New containers start with every pending value, a resize's max_connections among them: the poolers' pools follow.
  const follow = poolersFollow();
  steps.plan([
    ...(writer ? [writeStep(changes)] : []), ...(first ? [...(writer ? [SEEN_STEP] : []), first.restart, first.stream] : []),
    ...roll.plannedSteps(), FINAL_STEP, ...(follow ? [POOLER_STEP] : []),
  ]);
  if (writer) await steps.run(writeStep(changes), () => quick.patchParameters({ cluster, leader: writer, changes }));
  let firstLine: string | undefined;
  if (first) {
    // The leader's Patroni must hold the values just written before its restart (it loads the DCS once per HA loop).
    if (writer) await steps.run(SEEN_STEP, () => waits.waitForParameters({ cluster, changes }));
    firstLine = await restartLeaderFirst(steps, cluster, leader, replicas, lowered);
  }
  const { done: rebuilt, switchover: moved } = await roll.run();
  const after = await steps.run(FINAL_STEP, () => quick.restartSnapshot(cluster));
  const pooler = follow ? await resizePoolers(steps, cluster) : undefined;
  return {
    cluster,
    rebuilt,
    ...(moved ? { switchover: moved } : {}),
    leader: after.leader ?? moved?.to ?? (snap.restart.leader as string),
    writeDowntime: [firstLine, writeDowntimeLine(plan.leader, moved, snap.restart.members.length === 1, 're-created')].filter((x) => x !== undefined).join('; then '),
    size: size ?? null,
    parameters: changes,
    pendingAfter: after.members.filter((m) => m.pendingRestart).map((m) => m.name),
    ...(first ? { leaderFirst: lowered } : {}),
    ...(pooler ? { pooler } : {}),
  };
}

/** A new container for the member, as it was made (tags, direct port) but on the current image and, for a resize, with the new size. */
function rebuildAction(cluster: string, snap: RebuildSnapshot, newSize: MemberSize | undefined): MemberAction<RebuiltMember> {
  const members = snap.restart.members;
  const spec: ClusterSpec = { name: cluster, replicas: members.length - 1, ...snap.settings, ...(newSize ? { size: newSize } : {}) };
  const what = newSize ? `with ${describeSize(newSize)}` : 'on the current image';
  const rebuild = async (m: string, inPlace: boolean): Promise<RebuiltMember> => {
    const before = snap.containers[m]!;
    const readOnly = members.find((x) => x.name === m)?.readOnly ?? false;
    const r = await waits.rebuildMember({
      member: { spec, member: m, nofailover: readOnly, ...(before.directPort !== null ? { directPort: before.directPort } : {}) },
      containerBefore: before.id,
    });
    return { member: m, how: inPlace ? 're-created in place' : r.outcome, containerBefore: before.id, containerAfter: r.container, image: r.image };
  };
  return {
    operation: 'rebuild',
    stepOf: (m) => `re-create ${m} ${what} (data volume kept)`,
    act: (m) => rebuild(m, false),
    inPlaceStepOf: (leader, why) => `re-create ${leader} in place ${what} (${why}: writes fail meanwhile)`,
    actInPlace: (leader) => rebuild(leader, true),
  };
}
