/**
 * UpgradeBlueGreen's activities as fakes (beyond the shared ones): a copy that reports two tables
 * copying, then caught up; the operator's answer once the run waits for it; failures to inject.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { healthyCluster } from './fake-activities';
import { madeBackup, stanzaStatus } from './fake-backup';
import type { ExtraActivity } from './run-with-fakes';

export const withBackups = { settings: { ...healthyCluster.settings, backups: true } };

export const clean = { database: 'app', noReplicaIdentity: [], unlogged: [], largeObjects: 0 };
export const capable = { walLevel: 'logical', freeSlots: 18, freeSenders: 18, databases: 2 };

export function blueGreenFakes(o: { capacity?: typeof capable; leftovers?: string[] } = {}): Record<string, ExtraActivity> {
  let polls = 0;
  return {
    replicationBlockers: async () => [clean],
    logicalCopyCapacity: async () => o.capacity ?? capable,
    nextGeneration: async () => ({ generation: 2, members: ['pg-3', 'pg-4', 'pg-5'], leftovers: o.leftovers ?? [] }),
    keepCopySlots: async () => undefined,
    backupStatus: async () => stanzaStatus([]),
    runBackup: async () => madeBackup,
    upgradeStanza: async () => ({ member: 'pg-3' }),
    enableWalArchiving: async () => undefined,
    grantGenerationKeys: async () => ({ authEnabled: true }),
    waitForLeader: async (a: { members: string[] }) => a.members[0]!,
    writeCopyPassfile: async () => undefined,
    copyRoles: async () => ({ roles: 6 }),
    copySchema: async () => ({ databases: ['app', 'postgres'] }),
    startLogicalCopy: async () => ({ databases: ['app', 'postgres'] }),
    logicalCopyProgress: async () => (++polls < 2 ? { pendingTables: 2, lagBytes: null, appliedLsn: null } : { pendingTables: 0, lagBytes: 120, appliedLsn: '0/3000060' }),
    removeLogicalCopy: async () => ({ slotsDropped: 0 }),
    dropSubscriptions: async () => undefined,
    signalPoolers: async (a: { pause: boolean }) => ({ at: a.pause ? 1_000 : 2_500, poolers: ['pgbouncer-rw', 'pgbouncer-ro'] }),
    stopWrites: async () => ({ lsn: '0/5000000', ended: 1 }),
    allowWrites: async () => undefined,
    waitForCopyAt: async () => ({ waitedMs: 40 }),
    copySequences: async () => ({ sequences: 1 }),
    setServingGeneration: async () => undefined,
    serveMembers: async () => ({ members: [] }),
    servesOnRw: async () => false,
    servingState: async () => ({ generation: 2, rw: [{ member: 'pg-3', takesWrites: true }] }),
    disableSubscriptions: async () => undefined,
  };
}

/** Waits until the run waits for the operator, then sends `signal`. */
export const answer = (signal: string, arg?: unknown) => async (handle: WorkflowHandle): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    const s = await handle.query<UpgradeStatus>('upgradeStatus').catch(() => null);
    if (s?.awaitingDecision) {
      await (arg === undefined ? handle.signal(signal) : handle.signal(signal, arg));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the run never waited for finish or rollback');
};

/** The first argument of each call of the activity. */
export const argsOf = (f: { calls: { name: string; arg: unknown }[] }, name: string): Record<string, unknown>[] =>
  f.calls.filter((c) => c.name === name).map((c) => c.arg as Record<string, unknown>);

/** Waits until the run waits again after a failed decision, and returns its status then. */
export const waitingAgain = async (handle: WorkflowHandle): Promise<UpgradeStatus> => {
  for (let i = 0; i < 200; i++) {
    const s = await handle.query<UpgradeStatus>('upgradeStatus').catch(() => null);
    if (s?.awaitingDecision && s.decisionProblem) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the run never waited again');
};

/** Fails (for good) the n-th call of an activity; the others return `result`. */
export const failingCall = (n: number, result: unknown, message: string): ExtraActivity => {
  let calls = 0;
  return async () => {
    if (++calls === n) throw ApplicationFailure.create({ type: 'HaproxyConfigInvalid', nonRetryable: true, message });
    return result;
  };
};

/** Each generation failed over while the operator decided: generation 1 to pg-1, generation 2 (built on pg-3) to pg-4. */
export const failedOverLeaders = (): ExtraActivity => {
  let newGeneration = 0;
  return async (a: { members: string[] }) => (a.members.includes('pg-0') ? 'pg-1' : ++newGeneration === 1 ? 'pg-3' : 'pg-4');
};
