/** UpgradeInPlace and UpgradeBlueGreen with fake activities: the order of their steps, refusals, and what a failure puts back. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { healthyCluster } from '../helpers/fake-activities';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes, type ExtraActivity } from '../helpers/run-with-fakes';
import { assertCalledBefore } from '../helpers/order';
import { madeBackup, stanzaStatus } from '../helpers/fake-backup';
import { answer, argsOf, blueGreenFakes, capable, clean, failedOverLeaders, failingCall, waitingAgain, withBackups } from '../helpers/blue-green-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const made = madeBackup;
const fakes = (o: { checkRefuses?: boolean; linkFails?: string } = {}): Record<string, ExtraActivity> => ({
  upgradeHelperImageProblem: async () => null,
  backupStatus: async () => stanzaStatus([]),
  runBackup: async () => made,
  stopMemberKeepingContainer: async () => undefined,
  startStoppedMember: async () => undefined,
  runPgUpgrade: async (a: { mode: string }) => {
    if (a.mode === 'check' && o.checkRefuses) {
      throw ApplicationFailure.create({ type: 'UpgradeRefused', nonRetryable: true, message: 'pg_upgrade --check refused pg-0\'s data: Checking for reg* data types in user tables (postgres: public.t.p)' });
    }
    if (a.mode === 'upgrade' && o.linkFails) throw ApplicationFailure.create({ type: o.linkFails, nonRetryable: true, message: `link failed (${o.linkFails})` });
    return { output: 'ok' };
  },
  forgetClusterState: async () => ({ deleted: ['initialize', 'leader'] }),
  upgradeStanza: async () => ({ member: 'pg-0' }),
  analyzeAfterUpgrade: async () => ({ output: 'done' }),
  removeOldData: async () => undefined,
});
const members = (calls: { name: string; arg: unknown }[], name: string): string[] =>
  calls.filter((c) => c.name === name).map((c) => (c.arg as { member: string }).member);

test('UpgradeInPlace: backup, replicas stopped before the leader, check, link, etcd state, leader on 17, stanza, replicas cloned, analyze, backup', async () => {
  const { f, error, result } = await runWithFakes(env, 'upgradeInPlace', { cluster: 'orders', to: 17 }, { describe: withBackups }, { extra: fakes() });
  assert.equal(error, undefined);
  assert.deepEqual(result, { cluster: 'orders', from: 15, to: 17, leader: 'pg-0', replicas: ['pg-1', 'pg-2'], backupBefore: made, backupAfter: made });
  assert.deepEqual(members(f.calls, 'stopMemberKeepingContainer'), ['pg-1', 'pg-2', 'pg-0']);
  const names = f.names();
  const order = ['runBackup', 'stopMemberKeepingContainer', 'archiveCurrentWal', 'runPgUpgrade', 'forgetClusterState', 'replacePostgresMember', 'waitForLeader', 'upgradeStanza', 'analyzeAfterUpgrade', 'startPostgresMember', 'waitForReplicaStreaming', 'removeOldData'];
  for (let i = 1; i < order.length; i++) assertCalledBefore(names, order[i - 1]!, order[i]!);
  assert.deepEqual(f.calls.filter((c) => c.name === 'runPgUpgrade').map((c) => (c.arg as { mode: string }).mode), ['check', 'upgrade']);
  const leaderSpec = (f.calls.find((c) => c.name === 'replacePostgresMember')!.arg as { spec: { postgresVersion: number } }).spec;
  assert.equal(leaderSpec.postgresVersion, 17);
  assert.deepEqual(members(f.calls, 'removeMemberVolume'), ['pg-1', 'pg-2'], 'only the replicas\' old data goes');
  assert.equal(names[names.length - 1], 'runBackup');
});

test('UpgradeInPlace: pg_upgrade --check refusing starts every member again and refuses with its reason; nothing linked, etcd untouched', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeInPlace', { cluster: 'orders', to: 17 }, { describe: withBackups }, { extra: fakes({ checkRefuses: true }) });
  assert.equal(rootCause(error).type, 'MemberRefused');
  assert.match(rootCause(error).message, /reg\* data types in user tables \(postgres: public\.t\.p\)/);
  assert.deepEqual(members(f.calls, 'startStoppedMember').sort(), ['pg-0', 'pg-1', 'pg-2']);
  assertCalledBefore(f.names(), 'startStoppedMember', 'waitForLeader');
  for (const n of ['forgetClusterState', 'replacePostgresMember', 'removeMemberVolume', 'upgradeStanza']) assert.ok(!f.names().includes(n), `${n} not called`);
  assert.deepEqual(f.calls.filter((c) => c.name === 'runPgUpgrade').map((c) => (c.arg as { mode: string }).mode), ['check']);
});

test('UpgradeInPlace: pg_upgrade --link refusing restarts 15, leader first; any other link failure leaves the members stopped', async () => {
  const refused = await runWithFakes(env, 'upgradeInPlace', { cluster: 'orders', to: 17 }, { describe: withBackups }, { extra: fakes({ linkFails: 'UpgradeRefused' }) });
  assert.equal(rootCause(refused.error).type, 'MemberRefused');
  assert.deepEqual(members(refused.f.calls, 'startStoppedMember'), ['pg-0', 'pg-1', 'pg-2'], 'the leader first');
  const names = refused.f.names();
  const starts = names.flatMap((n, i) => (n === 'startStoppedMember' ? [i] : []));
  const led = names.lastIndexOf('waitForLeader');
  assert.ok(starts[0]! < led && led < starts[1]!, 'the replicas start once the leader leads');
  const killed = await runWithFakes(env, 'upgradeInPlace', { cluster: 'orders', to: 17 }, { describe: withBackups }, { extra: fakes({ linkFails: 'Stalled' }) });
  assert.equal(rootCause(killed.error).type, 'Stalled');
  for (const n of ['startStoppedMember', 'forgetClusterState', 'replacePostgresMember']) assert.ok(!killed.f.names().includes(n), `${n} not called: the data may be half-linked`);
});

test('UpgradeInPlace refuses before changing anything: same or older major, a member down, no backups', async () => {
  const down = { ...withBackups, members: healthyCluster.members.map((m) => (m.name === 'pg-2' ? { ...m, running: false } : m)) };
  for (const [describe, to, extra, re] of [
    [{ settings: { ...withBackups.settings, postgresVersion: 17 } }, 17, fakes(), /already runs PostgreSQL 17/],
    [down, 17, fakes(), /member pg-2 of orders is not running/],
    [{}, 17, fakes(), /has no backups, so nothing would bring it back/],
  ] as const) {
    const { f, error } = await runWithFakes(env, 'upgradeInPlace', { cluster: 'orders', to }, { describe }, { extra });
    assert.equal(rootCause(error).type, 'MemberRefused');
    assert.match(rootCause(error).message, re);
    for (const n of ['runBackup', 'stopMemberKeepingContainer', 'runPgUpgrade']) assert.ok(!f.names().includes(n), `${n} not called`);
  }
});




test('UpgradeBlueGreen: refuses with what logical replication cannot carry, per database, and a leader without logical WAL; nothing made', async () => {
  const blocked = [clean, { database: 'billing', noReplicaIdentity: ['public.events'], unlogged: ['scratch'], largeObjects: 2 }];
  for (const [extra, re] of [
    [{ ...blueGreenFakes(), replicationBlockers: async () => blocked }, /database billing: tables without a primary key or replica identity \(public\.events\), unlogged tables \(scratch\), 2 large objects/],
    [blueGreenFakes({ capacity: { ...capable, walLevel: 'replica' } }), /runs wal_level=replica .* needs wal_level=logical/],
    [blueGreenFakes({ capacity: { ...capable, freeSlots: 3 } }), /3 free replication slots \(max_replication_slots\), and a blue-green upgrade of its 2 databases needs 4/],
    [blueGreenFakes({ capacity: { ...capable, databases: 7 } }), /has 7 databases; a blue-green upgrade copies at most 6/],
  ] as const) {
    const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, { extra });
    assert.equal(rootCause(error).type, 'MemberRefused');
    assert.match(rootCause(error).message, re);
    assert.equal(argsOf(f, 'replicationBlockers')[0]?.member, 'pg-0', 'read on the leader');
    for (const n of ['grantGenerationKeys', 'startPostgresMember', 'stopMember', 'runBackup']) assert.ok(!f.names().includes(n), `${n} not called`);
  }
});


test('UpgradeBlueGreen: builds generation 2 on 17, copies, catches up, cuts over (pause, read-only, last write, sequences, serving, HAProxy, resume), waits, and on finish removes generation 1', async () => {
  const { f, result, progress } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), whileRunning: answer('upgradeFinish') });
  assert.deepEqual({ ...(result as Record<string, unknown>), writePauseMs: undefined }, { cluster: 'orders', from: 15, to: 17, outcome: 'finished', writePauseMs: undefined, leader: 'pg-3', backupBefore: { label: madeBackup.label, stoppedAt: madeBackup.stoppedAt } });
  assert.equal(typeof (result as { writePauseMs: unknown }).writePauseMs, 'number');
  const started = argsOf(f, 'startPostgresMember');
  assert.deepEqual(started.map((a) => a.member).sort(), ['pg-3', 'pg-4', 'pg-5']);
  for (const a of started) {
    assert.equal(a.generation, 2);
    assert.equal((a.spec as { postgresVersion: number }).postgresVersion, 17);
  }
  const names = f.names();
  for (const [earlier, later] of [['grantGenerationKeys', 'startPostgresMember'], ['waitForReplicaStreaming', 'copyRoles'], ['copyRoles', 'copySchema'],
    ['copySchema', 'startLogicalCopy'], ['startLogicalCopy', 'logicalCopyProgress'], ['logicalCopyProgress', 'signalPoolers'], ['signalPoolers', 'stopWrites'],
    ['stopWrites', 'waitForCopyAt'], ['waitForCopyAt', 'copySequences'], ['copySequences', 'setServingGeneration'], ['setServingGeneration', 'serveMembers'],
    ['serveMembers', 'disableSubscriptions'], ['disableSubscriptions', 'dropSubscriptions'], ['dropSubscriptions', 'stopMember'],
    // The stanza follows: the old leader's last WAL, the new leader's archiving, stanza-upgrade, a full backup; then finish.
    ['disableSubscriptions', 'archiveCurrentWal'], ['archiveCurrentWal', 'enableWalArchiving'], ['enableWalArchiving', 'upgradeStanza'],
    ] as const) {
    assertCalledBefore(names, earlier, later);
  }
  // The backups: generation 1's before the pause, then 17's once the stanza moved, before finish drops anything.
  assert.ok(names.indexOf('runBackup') < names.indexOf('signalPoolers') && names.indexOf('upgradeStanza') < names.lastIndexOf('runBackup'));
  assert.ok(names.lastIndexOf('runBackup') < names.indexOf('dropSubscriptions'));
  assert.deepEqual(f.calls.filter((c) => c.name === 'archiveCurrentWal').map((c) => c.more), [['pg-0']], 'the old leader\'s WAL');
  assert.ok(started.every((a) => a.holdArchive === true), 'the new members discard their WAL until the cutover');
  assert.equal(argsOf(f, 'runBackup')[0]?.type, 'full');
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  assert.deepEqual(argsOf(f, 'stopWrites').map((a) => a.member), ['pg-0']);
  assert.deepEqual(argsOf(f, 'waitForCopyAt')[0]?.lsn, '0/5000000', 'the copy waited for the last write');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2]);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-0', 'pg-1', 'pg-2'], 'finish removes the old generation only');
  assert.deepEqual(argsOf(f, 'grantGenerationKeys').map((a) => [a.scope, a.revoke ?? false]), [['orders-g2', false], ['orders', true]]);
  assert.ok(!f.names().includes('removeLogicalCopy'), 'finish leaves the read-only old leader alone: its publications and slots go with it');
  assert.deepEqual(argsOf(f, 'dropSubscriptions')[0]?.members, ['pg-3', 'pg-4', 'pg-5']);
  assert.ok(!JSON.stringify(f.calls).includes('password'), 'no activity input carries a password');
  assert.equal(progress.steps.find((st) => st.name === 'wait for the new members to catch up')?.state, 'done');
});

test('UpgradeBlueGreen: a rollback after the cutover makes generation 1 serve again, read-write, drops the copy\'s slots, moves the stanza back, then removes generation 2', async () => {
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), whileRunning: answer('upgradeRollback', { discardWrites: true }) });
  assert.equal((result as { outcome: string }).outcome, 'rolled-back');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2, 1]);
  assert.deepEqual(argsOf(f, 'stopWrites').map((a) => a.member), ['pg-0', 'pg-3'], 'the new leader stops taking writes before the old one serves');
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0']);
  assert.deepEqual(argsOf(f, 'serveMembers').map((a) => a.leader), ['pg-3', 'pg-0']);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false, true, false]);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
  // The stanza went to 17 at the cutover and comes back to 15, with the new leader's last WAL, before generation 2 goes.
  assert.deepEqual(f.calls.filter((c) => c.name === 'archiveCurrentWal').map((c) => c.more), [['pg-0'], ['pg-3']]);
  assert.equal(f.names().filter((n) => n === 'upgradeStanza').length, 2);
  assert.equal(f.names().filter((n) => n === 'runBackup').length, 3, 'before the cutover, on 17, back on 15');
  assertCalledBefore(f.names().slice(f.names().lastIndexOf('upgradeStanza')), 'runBackup', 'stopMember');
  // The copy's slots hold WAL on the old leader, which takes writes again: they go before the stanza's move back (its backup may take long).
  const names = f.names();
  const lastPause = names.lastIndexOf('signalPoolers');
  assert.ok(lastPause < names.indexOf('removeLogicalCopy') && names.indexOf('removeLogicalCopy') < names.lastIndexOf('archiveCurrentWal'), 'slots dropped after the rollback, before the stanza moves back');
  assert.deepEqual(argsOf(f, 'keepCopySlots').map((a) => a.keep), [true, false]);
});

test('UpgradeBlueGreen: a rollback after the cutover acts on both generations\' leaders of the moment, not the cutover\'s', async () => {
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: { ...blueGreenFakes(), waitForLeader: failedOverLeaders() }, whileRunning: answer('upgradeRollback', { discardWrites: true }) });
  assert.equal((result as { outcome: string; leader: string }).leader, 'pg-1');
  // Both looked up side by side (in either order), once the rollback came.
  assert.deepEqual(argsOf(f, 'waitForLeader').slice(1).map((a) => (a.members as string[]).join(',')).sort(), ['pg-0,pg-1,pg-2', 'pg-3,pg-4,pg-5']);
  assert.deepEqual(argsOf(f, 'stopWrites').map((a) => a.member), ['pg-0', 'pg-4']);
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-1']);
  assert.deepEqual(argsOf(f, 'serveMembers').map((a) => a.leader), ['pg-3', 'pg-1']);
  assert.deepEqual(f.calls.filter((c) => c.name === 'archiveCurrentWal').map((c) => c.more), [['pg-0'], ['pg-4']], 'the new leader\'s last WAL, wherever it leads now');
});

test('UpgradeBlueGreen: a rollback whose HAProxy move fails puts generation 2 back (serving, generation 1 read-only again, writes), resumes the poolers, and waits for a decision again; a finish then ends it', async () => {
  let problem: string | null | undefined;
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), waitForLeader: failedOverLeaders(), serveMembers: failingCall(2, { members: [] }, 'HAProxy runtime API refused') },
    whileRunning: async (h) => {
      await answer('upgradeRollback', { discardWrites: true })(h);
      problem = (await waitingAgain(h)).decisionProblem;
      await h.signal('upgradeFinish');
    },
  });
  assert.match(problem ?? '', /^upgrade rollback failed: HAProxy runtime API refused$/, 'the put-back worked: only the rollback\'s own failure');
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false, true, false]);
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2, 1, 2]);
  assert.deepEqual(argsOf(f, 'stopWrites').map((a) => a.member), ['pg-0', 'pg-4', 'pg-1'], 'generation 1 read-only again');
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-1', 'pg-4']);
  assert.deepEqual(argsOf(f, 'serveMembers').map((a) => a.leader), ['pg-3', 'pg-1', 'pg-4']);
  assertCalledBefore(f.names().slice(f.names().lastIndexOf('setServingGeneration')), 'serveMembers', 'signalPoolers', 'HAProxy back before the poolers resume');
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-0', 'pg-1', 'pg-2'], 'generation 2 served on; finish removed generation 1');
});

test('UpgradeBlueGreen: after the cutover a rollback without --discard-writes does not count (writes may be on 17): the run waits on, and finish ends it', async () => {
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), whileRunning: async (h) => {
      await answer('upgradeRollback', { discardWrites: false })(h);
      await answer('upgradeFinish')(h);
    } });
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2], 'generation 1 never served again');
});

test('UpgradeBlueGreen: a rollback that fails before its pause (no leader) changes nothing: the run waits for a decision again, saying why, and a finish then ends it', async () => {
  let lookups = 0;
  let problem: string | null | undefined;
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), waitForLeader: async (a: { members: string[] }) => {
      if (a.members.includes('pg-0') && ++lookups === 1) throw ApplicationFailure.create({ nonRetryable: true, message: 'no leader among pg-0, pg-1, pg-2 within 60 s' });
      return a.members[0]!;
    } },
    whileRunning: async (h) => {
      await answer('upgradeRollback', { discardWrites: true })(h);
      problem = (await waitingAgain(h)).decisionProblem;
      await h.signal('upgradeFinish');
    },
  });
  assert.match(problem ?? '', /^upgrade rollback failed: no leader among pg-0, pg-1, pg-2 within 60 s$/);
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2], 'generation 1 never served again');
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false], 'no second pause');
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-0', 'pg-1', 'pg-2']);
});

test('UpgradeBlueGreen: a finish whose backup on the new major fails removes nothing: the run waits again, and a finish that then backs up ends it', async () => {
  let backups = 0;
  let problem: string | null | undefined;
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17, backupBeforeCutover: false }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), runBackup: async () => {
      // The cutover's backup and the first finish's fail; the second finish's works.
      if (++backups <= 2) throw ApplicationFailure.create({ nonRetryable: true, message: `repository unreachable (${backups})` });
      return madeBackup;
    } },
    whileRunning: async (h) => {
      await answer('upgradeFinish')(h);
      problem = (await waitingAgain(h)).decisionProblem;
      await h.signal('upgradeFinish');
    },
  });
  assert.match(problem ?? '', /^upgrade finish failed: .*repository unreachable \(2\)/);
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.equal(backups, 3);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-0', 'pg-1', 'pg-2'], 'generation 1 removed once, after the backup');
});

test('UpgradeBlueGreen: a cutover whose HAProxy move fails puts generation 1 back (generation 2 read-only, serving, HAProxy, writes, poolers) and removes generation 2', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: { ...blueGreenFakes(), serveMembers: failingCall(1, { members: [] }, 'HAProxy runtime API refused') } });
  assert.match(rootCause(error).message, /HAProxy runtime API refused/);
  assert.doesNotMatch(rootCause(error).message, /also failed/, 'the put-back worked');
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2, 1]);
  assert.deepEqual(argsOf(f, 'stopWrites').map((a) => a.member), ['pg-0', 'pg-3'], 'a write that reached generation 2 fails rather than being lost with it');
  assert.deepEqual(argsOf(f, 'serveMembers').map((a) => a.leader), ['pg-3', 'pg-0']);
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0']);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  const names = f.names();
  for (const part of ['stopWrites', 'serveMembers', 'allowWrites']) assert.ok(names.lastIndexOf(part) < names.lastIndexOf('signalPoolers'), `${part} before the poolers resume`);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('UpgradeBlueGreen: when putting generation 1 back fails too, the run\'s error names the cutover\'s failure and the put-back\'s; the poolers resume all the same; generation 2, where HAProxy may still send clients, stays', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), failExtraOn: { serveMembers: 'HaproxyConfigInvalid' } });
  assert.match(rootCause(error).message, /^the cutover failed: serveMembers failed \(injected\); putting generation 1 back also failed: HAProxy: serveMembers failed \(injected\); HAProxy, retried: it may still send clients to generation 2, which is kept \(read-only\)$/);
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2, 1]);
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0']);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  assert.deepEqual(argsOf(f, 'serveMembers').map((a) => a.leader), ['pg-3', 'pg-0', 'pg-0'], 'HAProxy tried again after the poolers resumed');
  assert.ok(!f.names().includes('stopMember'), 'generation 2 stays');
});

test('UpgradeBlueGreen: a HAProxy put-back that fails within the pause is tried again after the poolers resume; once it works, generation 2 goes', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), serveMembers: (() => {
      let calls = 0;
      return async () => {
        if (++calls <= 2) throw ApplicationFailure.create({ type: 'HaproxyConfigInvalid', nonRetryable: true, message: `HAProxy refused (${calls})` });
        return { members: [] };
      };
    })() },
  });
  assert.match(rootCause(error).message, /^HAProxy refused \(1\)$/, 'the cutover\'s own failure: the put-back worked in the end');
  const names = f.names();
  assert.ok(names.lastIndexOf('signalPoolers') < names.lastIndexOf('serveMembers'), 'the retry after the poolers resumed');
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('UpgradeBlueGreen: writes on generation 1 that the put-back could not allow again are retried once the poolers resumed: the cluster does not stay read-only', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), serveMembers: failingCall(1, { members: [] }, 'HAProxy runtime API refused'), allowWrites: failingCall(1, undefined, 'pg-0: connection reset') },
  });
  assert.match(rootCause(error).message, /^HAProxy runtime API refused$/, 'the put-back worked in the end');
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0', 'pg-0']);
  const names = f.names();
  assert.ok(names.lastIndexOf('signalPoolers') < names.lastIndexOf('allowWrites'), 'the retry after the poolers resumed');
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('UpgradeBlueGreen: a cutover reported failed after the new leader came UP on HAProxy\'s rw (deadline, killed worker) stands: no put-back, the poolers resume, the run waits for the decision', async () => {
  const { f, result } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), serveMembers: failingCall(1, { members: [] }, 'the answer to the last command was lost'), servesOnRw: async () => true },
    whileRunning: answer('upgradeFinish'),
  });
  assert.equal((result as { outcome: string }).outcome, 'finished');
  assert.deepEqual(argsOf(f, 'servesOnRw').map((a) => a.member), ['pg-3']);
  assert.deepEqual(argsOf(f, 'setServingGeneration').map((a) => a.generation), [2], 'generation 1 never put back');
  assert.ok(!f.names().includes('allowWrites'), 'generation 1 stays read-only');
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-0', 'pg-1', 'pg-2'], 'finish removes generation 1');
});

test('UpgradeBlueGreen: a pause that fails half-way (one pooler paused) is resumed, and generation 2 goes', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), signalPoolers: async (a: { pause: boolean }) => {
      if (a.pause) throw ApplicationFailure.create({ nonRetryable: true, message: 'pgbouncer-ro: container is restarting' });
      return { at: 2_500, poolers: ['pgbouncer-rw', 'pgbouncer-ro'] };
    } },
  });
  assert.match(rootCause(error).message, /pgbouncer-ro: container is restarting/);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  for (const n of ['stopWrites', 'setServingGeneration', 'serveMembers']) assert.ok(!f.names().includes(n), `${n} not called`);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('UpgradeBlueGreen: a copy that does not reach the last write before the pause\'s deadline puts generation 1 back and fails saying so', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17, writePauseLimitMs: 1500 }, { describe: withBackups }, {
    extra: { ...blueGreenFakes(), waitForCopyAt: async () => {
      // Never there; ends when cancelled (heard on a heartbeat) or when the worker stops.
      const ctx = Context.current();
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(200);
      }
    } },
  });
  assert.match(rootCause(error).message, /writes were paused for 1\.5 s, the limit .*query_wait_timeout.*"wait for the copy to apply the last write" had not finished/);
  assert.deepEqual(argsOf(f, 'signalPoolers').map((a) => a.pause), [true, false]);
  assert.deepEqual(argsOf(f, 'allowWrites').map((a) => a.member), ['pg-0']);
  for (const n of ['copySequences', 'setServingGeneration', 'serveMembers']) assert.ok(!f.names().includes(n), `${n} not called`);
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
});

test('UpgradeBlueGreen: a copy that fails removes the new generation and fails with its reason; the serving members untouched', async () => {
  const { f, error } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes(), failExtraOn: { copySchema: 'SchemaCopyFailed' } });
  assert.match(rootCause(error).message, /copySchema failed \(injected\)/);
  assert.ok(!f.names().includes('startLogicalCopy'));
  assert.deepEqual(argsOf(f, 'stopMember').map((a) => a.member), ['pg-3', 'pg-4', 'pg-5']);
  assert.deepEqual(argsOf(f, 'grantGenerationKeys').map((a) => a.revoke ?? false), [false, true]);
});

test('UpgradeBlueGreen: what an earlier run left of the next generation goes before it is built anew under new names', async () => {
  const { f } = await runWithFakes(env, 'upgradeBlueGreen', { cluster: 'orders', to: 17 }, { describe: withBackups },
    { extra: blueGreenFakes({ leftovers: ['pg-3', 'pg-4'] }), whileRunning: answer('upgradeFinish') });
  const stopped = argsOf(f, 'stopMember').map((a) => a.member);
  assert.deepEqual(stopped.slice(0, 2), ['pg-3', 'pg-4'], 'the leftovers first');
  assertCalledBefore(f.names(), 'stopMember', 'startPostgresMember');
  assert.equal(argsOf(f, 'removeLogicalCopy').length, 1, 'the leftovers\' copy (this run\'s subscriptions go at its finish)');
  assert.equal(argsOf(f, 'dropSubscriptions').length, 1);
});
