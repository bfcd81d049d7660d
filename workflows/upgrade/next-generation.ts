/**
 * The members of a blue/green upgrade's next generation (docs/design/blue-green-upgrade.md): built
 * beside the serving ones as a Patroni cluster of their own on the new major, and removed again
 * (a rollback before the cutover, or a run that fails or is cancelled before it).
 */
import { CancellationScope } from '@temporalio/workflow';
import { patroniScope } from '../../common/generations';
import { etcdMemberNames, type ClusterSpec } from '../../common/spec';
import { cleanup, longRunning, quick, waits } from '../activity-options';
import type { Steps } from '../steps';

export interface NextGeneration {
  cluster: string;
  generation: number;
  /** Its members in order, the first bootstrapping; one per serving member. */
  members: { name: string; readOnly: boolean }[];
  /** The serving generation's spec with the new major: the same profile, sync mode, etcd and backups (its WAL archived only from the cutover on). */
  spec: ClusterSpec;
}

/** A member counts as caught up within this lag (Patroni's default maximum_lag_on_failover). */
const CAUGHT_UP_BYTES = 1024 * 1024;

const grantStep = (g: NextGeneration): string => `let generation ${g.generation} keep its state in etcd (${patroniScope(g.cluster, g.generation)})`;
const startStep = (g: NextGeneration, i: number): string =>
  `start ${g.members[i]!.name} (generation ${g.generation}${i === 0 ? `, PostgreSQL ${g.spec.postgresVersion}` : ''})`;
const leaderStep = (g: NextGeneration): string => `wait for generation ${g.generation}'s leader`;
const streamingStep = (member: string): string => `wait for ${member} streaming`;

export function buildStepNames(g: NextGeneration): string[] {
  return [grantStep(g), ...g.members.map((_, i) => startStep(g, i)), leaderStep(g), ...g.members.slice(1).map((m) => streamingStep(m.name))];
}

/** Returns the new generation's leader (its first member but for a failover meanwhile). */
export async function buildNextGeneration(steps: Steps, g: NextGeneration): Promise<string> {
  const { cluster, generation, spec } = g;
  const names = g.members.map((m) => m.name);
  await steps.run(grantStep(g), () => quick.grantGenerationKeys({ cluster, members: etcdMemberNames(spec.etcdMembers), scope: patroniScope(cluster, generation) }));
  const start = (i: number) => steps.run(startStep(g, i), async () => {
    await quick.startPostgresMember({
      spec, member: names[i]!, generation, nofailover: g.members[i]!.readOnly, noloadbalance: false, ...(spec.backups !== false ? { holdArchive: true } : {}),
    });
    // The others clone from it rather than race it to bootstrap.
    if (i === 0) await waits.waitForBootstrapClaimed({ cluster, member: names[0]! });
  });
  await start(0);
  await Promise.all(names.slice(1).map((_, i) => start(i + 1)));
  const leader = await steps.run(leaderStep(g), () => waits.waitForLeader({ cluster, members: names }));
  await Promise.all(names.filter((m) => m !== leader).map((m) =>
    steps.run(streamingStep(m), () => longRunning.waitForReplicaStreaming({ cluster, member: m, members: names, maxLagBytes: CAUGHT_UP_BYTES }))));
  return leader;
}

export const removeStepName = (g: Pick<NextGeneration, 'generation'>): string => `remove generation ${g.generation} (its members, volumes and etcd keys)`;

/** Everything of the generation goes, whatever of it was made; runs to the end even when the workflow is cancelled. */
export function removeNextGeneration(steps: Steps, g: NextGeneration): Promise<void> {
  return CancellationScope.nonCancellable(() => steps.run(removeStepName(g), () => removeGenerationMembers(g)));
}

/** The generation's members and volumes, then its etcd keys and grant. */
export async function removeGenerationMembers(g: Pick<NextGeneration, 'cluster' | 'generation' | 'members' | 'spec'>): Promise<void> {
  for (const m of g.members) {
    await cleanup.stopMember({ cluster: g.cluster, member: m.name });
    await cleanup.removeMemberVolume({ cluster: g.cluster, member: m.name });
  }
  await cleanup.grantGenerationKeys({ cluster: g.cluster, members: etcdMemberNames(g.spec.etcdMembers), scope: patroniScope(g.cluster, g.generation), revoke: true });
}
