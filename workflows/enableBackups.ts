/**
 * EnableBackups: give a cluster made without backups (`create --no-backups`, or by a dbaas from
 * before repositories) its pgBackRest repository and WAL archiving, member by member, without
 * taking it down. Docker cannot add a mount to a container, so each member is re-created on its
 * own data volume: replicas first, then the leader after a switchover to one of them. Run again,
 * it only checks (every member already mounts the repository; the stanza exists).
 *
 * With `--backup-to repository-host` on a cluster whose repository is its volume (`backup
 * migrate`), the same roll moves it there: the backups and WAL are copied to the host first, the
 * members are re-created for the host, the WAL the old leader archived meanwhile follows, and the
 * volume goes once the host lists every backup it held.
 */
import { CancellationScope, executeChild } from '@temporalio/workflow';
import { repositoryVolumeName } from '../common/resource-names';
import { haWorkflowIds } from '../common/workflow-ids';
import { memberPort } from '../common/ports';
import { clusterNameKey } from '../common/search-attributes';
import { syncModeOf, type ClusterSpec } from '../common/spec';
import type { EnableBackupsInput, EnableBackupsResult } from '../common/backup';
import { cleanup, longRunning, quick, waits } from './activity-options';
import { refuse } from './refusals';
import { repositoryRequestProblem } from '../common/repository';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { switchover } from './switchover';
import { onLeaderHost } from './leader-host';
import { LOCAL_HOST } from '../common/inventory';
import { versionOf } from '../common/postgres-version';

/** A re-created member counts as caught up within this lag (Patroni's default maximum_lag_on_failover). */
const CAUGHT_UP_BYTES = 1024 * 1024;

export async function enableBackups(input: EnableBackupsInput): Promise<EnableBackupsResult> {
  const { cluster } = input;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('enable-backups', cluster, [leaseStep(cluster), 'check the cluster']);
  // The switchover child is granted the lease under this workflow's.
  return withClusterLease(steps, cluster, () => enableUnderLease(input, steps));
}

async function enableUnderLease(input: EnableBackupsInput, steps: Steps): Promise<EnableBackupsResult> {
  const { cluster } = input;
  const { desc, missing, move } = await steps.run('check the cluster', async () => {
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader; members can only be re-created one by one around a running leader`);
    if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
    const down = d.members.find((m) => !m.running);
    if (down) refuse(`member ${down.name} of ${cluster} is not running; start or remove it first`);
    // Members are re-created here on this machine's engine; on added hosts a repository is chosen at create.
    const away = d.members.find((m) => (m.host ?? LOCAL_HOST) !== LOCAL_HOST);
    if (away) refuse(`backup enable of a cluster across hosts is not built yet (${away.name} runs on ${away.host}): create it with --backup-to s3://…`);
    const without = await quick.membersWithoutRepository(cluster);
    const layout = await quick.repositoryLayout(cluster);
    // A volume repository onto the repository host, or such a move resumed (the location says host, the volume is still there).
    const move = input.backupTo?.location.type === 'host' && layout.volume && (layout.kind === 'host' || (layout.kind === 'volume' && without.length === 0));
    if (input.backupTo) {
      const problem = repositoryRequestProblem(input.backupTo);
      if (problem) refuse(`--backup-to: ${problem}`);
      if (!move && without.length < d.members.length) {
        refuse(`cluster ${cluster} already has a backup repository (or a started \`backup enable\`: run it again without --backup-to to finish); only a volume repository moves, onto the repository host (\`backup migrate ${cluster}\`)`);
      }
    }
    return { desc: d, missing: move ? layout.membersOffHost : without, move };
  });
  const leader = desc.leader!;
  const stats = desc.ports!.stats;
  const rw = desc.ports!.rw;
  const spec: ClusterSpec = { name: cluster, replicas: desc.members.length - 1, ...desc.settings, backups: true };
  // Only members without the mount are re-created: a second run (or a resumed one) moves nothing.
  const replicas = desc.members.filter((m) => m.name !== leader && missing.includes(m.name));
  const leaderMissing = missing.includes(leader);
  const canTakeOver = desc.members.some((m) => m.name !== leader && !m.readOnly);
  const members = desc.members.map((m) => m.name);
  const readOnly = new Map(desc.members.map((m) => [m.name, m.readOnly]));

  const rollSteps = (m: string): string[] => [
    `take ${m} out of HAProxy`, `re-create ${m} with the repository`, `wait for ${m} streaming`, `put ${m} back in service in HAProxy`,
  ];
  const switchoverStep = `switch over from ${leader} (child workflow)`;
  const syncMode = syncModeOf(desc.settings);
  const syncStep = `wait for a synchronous standby${syncMode === 'strict' ? ' (strict: commits wait while none exists)' : ''}`;
  const leaderInPlace = `re-create ${leader} with the repository (no replica can take over: writes pause while it restarts)`;
  const volume = repositoryVolumeName(cluster);
  const copyStep = `copy the backups and WAL from volume ${volume} to the repository host`;
  const catchUpStep = 'copy the WAL the old leader archived meanwhile to the repository host';
  const removeStep = `remove volume ${volume} (the repository host lists its backups)`;
  steps.plan([
    ...(move ? [copyStep] : []),
    'create the backup repository',
    'turn on WAL archiving (archive_mode, archive_command in the DCS config)',
    ...replicas.flatMap((m) => rollSteps(m.name)),
    ...(!leaderMissing ? [] : canTakeOver ? [...(syncMode !== 'off' ? [syncStep] : []), switchoverStep, ...rollSteps(leader)] : [leaderInPlace, 'wait for a leader']),
    ...(move ? [catchUpStep] : []),
    'create the backup stanza (stanza-create, check)',
    ...(move ? [removeStep] : []),
  ]);

  const copied = move ? await steps.run(copyStep, () => longRunning.copyVolumeRepositoryToHost(cluster)) : undefined;

  await steps.run('create the backup repository', () => quick.ensureBackupRepository({ cluster, kept: false, version: versionOf(desc.settings), ...(input.backupTo ? { repository: input.backupTo } : {}) }));
  // Members read it when they start: every re-created member comes up archiving.
  await steps.run('turn on WAL archiving (archive_mode, archive_command in the DCS config)', () => quick.enableWalArchiving(cluster));

  /** Members from `missing` that now mount the repository (whether this attempt or an earlier one re-created them). */
  const recreated: string[] = [];
  const replace = async (m: string): Promise<void> => {
    await quick.replacePostgresMember({ spec, member: m, nofailover: readOnly.get(m) ?? false, directPort: memberPort(rw, m) });
    recreated.push(m);
  };
  /** A replica, out of HAProxy while it restarts, so no new session lands on it. */
  const roll = async (m: string): Promise<void> => {
    await steps.run(`take ${m} out of HAProxy`, () => quick.drainHaproxyServer({ cluster, member: m, statsPort: stats, timeoutMs: 5000 }));
    try {
      await steps.run(`re-create ${m} with the repository`, () => replace(m));
      await steps.run(`wait for ${m} streaming`, () => waits.waitForReplicaStreaming({ cluster, member: m, members, maxLagBytes: CAUGHT_UP_BYTES }));
      await steps.run(`put ${m} back in service in HAProxy`, () =>
        waits.putHaproxyMemberInService({ cluster, member: m, profile: desc.settings.profile, statsPort: stats }),
      );
    } catch (err) {
      // A re-run skips this member (it mounts the repository now): leave it to its health checks, not drained.
      await CancellationScope.nonCancellable(() => cleanup.undrainHaproxyServer({ cluster, member: m }));
      throw err;
    }
  };

  for (const m of replicas) await roll(m.name);
  let finalLeader = leader;
  if (!leaderMissing) {
    // Nothing to move: the leader already mounts the repository.
  } else if (canTakeOver) {
    if (syncMode !== 'off') {
      // Re-created replicas lose the synchronous role until Patroni's next loop names one again;
      // the switchover accepts only the synchronous standby as candidate.
      await steps.run(syncStep, () => waits.waitForSyncApplied({ cluster, mode: syncMode }));
    }
    const moved = await steps.run(switchoverStep, () =>
      executeChild(switchover, {
        workflowId: haWorkflowIds.switchover(cluster, 'enable-backups'),
        args: [{ cluster }],
        typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
      }),
    );
    finalLeader = moved.leader;
    await roll(leader);
  } else {
    await steps.run(leaderInPlace, () => replace(leader));
    finalLeader = await steps.run('wait for a leader', () => waits.waitForLeader({ cluster, members }));
  }
  if (move) await steps.run(catchUpStep, () => longRunning.copyVolumeRepositoryToHost(cluster));
  // `check` proves the new leader's archive_command reaches the repository.
  await steps.run('create the backup stanza (stanza-create, check)', () => onLeaderHost(cluster, (on) => on.waits.createStanza(cluster)));
  if (!copied) return { cluster, recreated, leader: finalLeader };
  await steps.run(removeStep, () => quick.removeMovedRepositoryVolume({ cluster, labels: copied.labels }));
  return { cluster, recreated, leader: finalLeader, moved: { volume, backups: copied.labels.length } };
}
