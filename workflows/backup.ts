/**
 * Backup: one pgBackRest backup of a cluster, run on the repository host (or, for a volume or S3
 * repository, in the current leader's container), reading the data files from a standby when one
 * can serve them (its pgBackRest TLS server). Returns label, type, size, duration and WAL range.
 * A retried step never starts a second backup.
 */
import { defineQuery, executeChild, patched, setHandler } from '@temporalio/workflow';
import { backupWorkflowIds } from '../common/workflow-ids';
import { clusterNameKey } from '../common/search-attributes';
import { verifyBackup } from './verifyBackup';
import { BACKUP_MADE_QUERY, RECORD_ROW_COUNTS_STEP, STANZA_MISSING_CODES, retentionProblem, type BackupInput, type BackupSummary, type StanzaSummary } from '../common/backup';
import { describesRepositoryHost } from '../common/repository';
import { quick } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease, withClusterLeaseReading } from './lease';
import { Steps } from './steps';
import { onLeaderHost } from './leader-host';

/** The backup once pgBackRest made it (null before): the CLI returns with it while the row counts are recorded. */
export const backupMadeQuery = defineQuery<BackupSummary | null>(BACKUP_MADE_QUERY);
/** A failed count no longer fails a backup that was made (the CLI may have reported it already). */
const ROW_COUNTS_NEVER_FAIL_THE_BACKUP = 'row-counts-never-fail-the-backup';
/** The check's reads at once (the leader and the repository, then the standby and the stanza). */
const CHECKS_IN_PARALLEL = 'backup-checks-in-parallel';
/** The check reads beside the lease request (again under the lease when it came after a wait). */
const CHECK_BESIDE_LEASE = 'backup-check-beside-lease';
const CHECK_STEP = 'check the cluster and its repository';

/** What the check found: the run step's input. */
interface Checked {
  before: string[];
  stanzaMissing: boolean;
  leader: string | null;
  rwPort: number | undefined;
  standby: string | null;
  onHost: boolean;
  /** Where the leader runs, read with the check (runs before the patch look it up in the run step). */
  leaderHost?: string;
}

export async function backup(input: BackupInput): Promise<BackupSummary> {
  const { cluster, type } = input;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('backup', cluster, [leaseStep(cluster), CHECK_STEP]);
  let made: BackupSummary | null = null;
  setHandler(backupMadeQuery, () => made);
  const madeNow = (b: BackupSummary): void => void (made = b);
  // A restore drill after it (a child) is granted the lease under this workflow's.
  if (patched(CHECK_BESIDE_LEASE)) {
    // The leader's host is read with the rest: the run step goes there without a look-up of its own.
    const read = async (): Promise<Checked> => {
      const [checked, leaderHost] = await Promise.all([check(input), quick.leaderHost(cluster)]);
      return { ...checked, leaderHost };
    };
    return withClusterLeaseReading(steps, cluster, CHECK_STEP, read, (c) => backupUnderLease(input, steps, c, madeNow));
  }
  return withClusterLease(steps, cluster, async () => backupUnderLease(input, steps, await steps.run(CHECK_STEP, () => check(input)), madeNow));
}

async function check(input: BackupInput): Promise<Checked> {
  const problem = input.retention ? retentionProblem(input.retention) : undefined;
  if (problem) refuse(problem);
  const { d, standby, s } = patched(CHECKS_IN_PARALLEL) ? await readsInParallel(input) : await readsInTurn(input);
  return { before: s.backups.map((b) => b.label), stanzaMissing: STANZA_MISSING_CODES.has(s.statusCode), leader: d.leader, rwPort: d.ports?.rw, standby, onHost: describesRepositoryHost(s.repository) };
}

async function backupUnderLease(input: BackupInput, steps: Steps, checked: Checked, madeNow: (b: BackupSummary) => void): Promise<BackupSummary> {
  const { cluster, type } = input;
  const { before, stanzaMissing, leader, rwPort, standby, onHost } = checked;
  // On the repository host the backup runs there; the leader only starts and stops it.
  const runStep = onHost
    ? `run the ${type} backup (on the repository host, data files from ${standby ?? `the leader ${leader}`})`
    : standby ? `run the ${type} backup (on the leader ${leader}, data files from ${standby})` : `run the ${type} backup (on the leader, ${leader})`;
  steps.plan([
    ...(stanzaMissing ? ['create the backup stanza (stanza-create, check)'] : []),
    ...(input.retention ? ['keep the retention for this cluster'] : []),
    runStep,
    ...(rwPort !== undefined ? [RECORD_ROW_COUNTS_STEP] : []),
    ...(input.verifyAfter ? ['restore drill (child workflow)'] : []),
  ]);
  if (stanzaMissing) await steps.run('create the backup stanza (stanza-create, check)', () => onLeaderHost(cluster, (on) => on.waits.createStanza(cluster)));
  if (input.retention) {
    const retention = input.retention;
    await steps.run('keep the retention for this cluster', () => quick.saveRetention({ cluster, retention }));
  }
  const backupMade = await steps.run(runStep, () => onLeaderHost(cluster, (on) => on.longRunning.runBackup({ cluster, type, before, ...(standby ? { standby } : {}) }), checked.leaderHost));
  madeNow(backupMade);
  if (rwPort !== undefined) {
    // Off the CLI's path: `backup run` returns once the backup is made; a drill waits for the lease.
    const record = steps.run(RECORD_ROW_COUNTS_STEP, () => quick.recordRowCounts({ cluster, label: backupMade.label, rwPort, backupStoppedAt: backupMade.stoppedAt }));
    // The step shows the failure; a drill of this backup then checks that it answers, without counts.
    if (patched(ROW_COUNTS_NEVER_FAIL_THE_BACKUP)) await record.catch(() => undefined);
    else await record;
  }
  if (input.verifyAfter) {
    await steps.run('restore drill (child workflow)', () =>
      executeChild(verifyBackup, {
        workflowId: backupWorkflowIds.verify(cluster, backupMade.label),
        args: [{ cluster, label: backupMade.label }],
        typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
      }),
    );
  }
  return backupMade;
}

type CheckReads = { d: Awaited<ReturnType<typeof quick.describeCluster>>; standby: string | null; s: StanzaSummary };

const refusals = {
  noLeader: (cluster: string) => `cluster ${cluster} has no leader; a backup must see the primary`,
  contradiction: '--from-standby and --from-primary contradict each other',
  noRepository: (cluster: string) => `cluster ${cluster} has no backup repository (made with --no-backups, or before dbaas made them); \`dbaas backup enable ${cluster}\` adds it`,
  noStandby: (cluster: string) => `no replica of ${cluster} can serve a backup now: one must be running and streaming, and made by a dbaas that runs pgBackRest's TLS server in members (clusters with TLS)`,
};

/** The reads at once; the refusals in the same order as before. From a standby when one can serve (the default). */
async function readsInParallel(input: BackupInput): Promise<CheckReads> {
  const { cluster } = input;
  if (input.fromStandby && input.fromPrimary) refuse(refusals.contradiction);
  const [d, hasRepository, standby, s] = await Promise.all([
    quick.describeCluster(cluster),
    quick.clusterHasRepository(cluster),
    input.fromPrimary ? null : quick.backupStandby(cluster),
    // Without a leader or a repository the refusal says why, not the stanza's read.
    quick.backupStatus(cluster).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
  ]);
  if (!d.leader) refuse(refusals.noLeader(cluster));
  if (!hasRepository) refuse(refusals.noRepository(cluster));
  if (input.fromStandby && standby === null) refuse(refusals.noStandby(cluster));
  if (s instanceof Error) throw s;
  return { d, standby, s };
}

/** The order of runs started before the reads went in parallel (their histories replay it). */
async function readsInTurn(input: BackupInput): Promise<CheckReads> {
  const { cluster } = input;
  const d = await quick.describeCluster(cluster);
  if (!d.leader) refuse(refusals.noLeader(cluster));
  if (input.fromStandby && input.fromPrimary) refuse(refusals.contradiction);
  if (!(await quick.clusterHasRepository(cluster))) refuse(refusals.noRepository(cluster));
  const standby = input.fromPrimary ? null : await quick.backupStandby(cluster);
  if (input.fromStandby && standby === null) refuse(refusals.noStandby(cluster));
  return { d, standby, s: await quick.backupStatus(cluster) };
}
