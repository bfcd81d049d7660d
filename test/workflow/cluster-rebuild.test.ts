/** RebuildCluster with fake activities: the rolling restart's order with re-created containers, each member re-created once across a retry, a resize's parameters written before the first re-creation. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { rebuildStepDecision, type RebuildClusterInput, type RebuildClusterResult, type RebuildSnapshot } from '../../common/cluster-rebuild';
import type { RestartMemberView } from '../../common/cluster-restart';
import type { ParameterChange } from '../../common/set-parameters';
import type { PgSetting } from '../../common/parameter-values';
import type { RebuildMemberInput } from '../../activities/member-rebuild';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';
import { SIZE_SETTING_ROWS, settingRow } from '../helpers/pg-settings';
import { switchoverFakes } from '../helpers/fake-switchover';
import { rootCause, runWithFakes, type FakeRun } from '../helpers/run-with-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const MEMBERS = ['pg-0', 'pg-1', 'pg-2'];
const NEW_IMAGE = 'sha256:new';

const view = (name: string): RestartMemberView => ({
  name, role: name === 'pg-0' ? 'leader' : 'replica', readOnly: false, running: true, state: 'running', pendingRestart: false, startedAt: `t0 ${name}`,
});

/** pg-0 leads, pg-1 and pg-2 replicate, every container on the old image; made with 1 CPU and 512 MiB. `pending`: Patroni flags every member pending_restart. */
function snapshot(pending = false): RebuildSnapshot {
  return {
    restart: {
      cluster: 'orders', leader: 'pg-0', members: MEMBERS.map((m) => ({ ...view(m), pendingRestart: pending })), statsPort: 25434, profile: 'fast', syncMode: 'off', acrossHosts: false,
    },
    settings: { profile: 'fast', sync: false, etcdMembers: 1, backups: false, size: { cpus: 1, memoryMiB: 512 } },
    containers: Object.fromEntries(MEMBERS.map((m, i) => [m, { id: `old-${m}`, image: 'sha256:old', directPort: 25440 + i }])),
  };
}

interface Scenario {
  /** A member whose first re-create attempt makes the new container and then dies (a lost worker). */
  dieAfterCreating?: string;
  settings?: PgSetting[];
  /** Values the DCS holds, set without a restart (every member waits for one, the leader among them). */
  waiting?: ParameterChange[];
}

/** The members' containers as the fake engine has them, and how many each member was given. */
interface Engine {
  containers: Map<string, { id: string; image: string }>;
  made: Map<string, number>;
}

async function run(input: Partial<RebuildClusterInput>, s: Scenario = {}): Promise<FakeRun & { engine: Engine }> {
  const snap = snapshot(s.waiting !== undefined);
  const engine: Engine = { containers: new Map(MEMBERS.map((m) => [m, snap.containers[m]!])), made: new Map() };
  let died = false;
  const r = await runWithFakes(env, 'rebuildCluster', { cluster: 'orders', ...input }, {}, {
    extra: {
      rebuildSnapshot: async () => snap,
      restartSnapshot: async () => snap.restart,
      // The real activity's decision, on the fake engine.
      rebuildMember: async (a: RebuildMemberInput) => {
        const m = a.member.member;
        const decision = rebuildStepDecision(engine.containers.get(m), a.containerBefore, NEW_IMAGE);
        if (decision !== 'done') {
          const n = (engine.made.get(m) ?? 0) + 1;
          engine.made.set(m, n);
          engine.containers.set(m, { id: `new-${m}-${n}`, image: NEW_IMAGE });
        }
        if (m === s.dieAfterCreating && !died) {
          died = true;
          throw ApplicationFailure.create({ message: 'worker lost (injected)', nonRetryable: false });
        }
        return { outcome: decision === 'done' ? 'already re-created' : 're-created', container: engine.containers.get(m)!.id, image: NEW_IMAGE };
      },
      readParameterSettings: async (a: { names: string[] }) => ({
        leader: 'pg-0', settings: s.settings ?? SIZE_SETTING_ROWS, previous: a.names.map((name) => s.waiting?.find((w) => w.name === name) ?? { name, value: null }),
      }),
      patchParameters: async () => ({ member: 'pg-0' }),
      waitForParameters: async () => ({ members: MEMBERS.map((member) => ({ member, applied: [], pending: ['max_connections'] })), notRunning: [] }),
      postmasterStartTime: async (a: { member: string }) => ({ state: 'running', startedAt: `t0 ${a.member}` }),
      restartMember: async (a: { member: string }) => ({ outcome: 'restarted', startedAt: `t1 ${a.member}`, restartMs: 900 }),
      drainReadOnlyServer: async () => ({ sessionsLeft: 0 }),
      restoreReadOnlyServer: async () => undefined,
      undrainHaproxyServer: async () => undefined,
      ...switchoverFakes(),
    },
  });
  return { ...r, engine };
}

/** The calls that name a member, as `activity member`, in order (rebuildMember names it inside its member input). */
const memberCalls = (r: FakeRun): string[] => r.f.calls.flatMap((c) => {
  const a = c.arg as { member?: unknown };
  const m = typeof a?.member === 'string' ? a.member : (a?.member as { member?: string } | undefined)?.member;
  return m ? [`${c.name} ${m}`] : [];
});

const rollOf = (m: string): string[] => [`drainHaproxyServer ${m}`, `rebuildMember ${m}`, `waitForReplicaStreaming ${m}`, `putHaproxyMemberInService ${m}`];

test('replicas re-created one at a time, a switchover to a re-created one, then the old leader re-created too (its demote is no new container)', async () => {
  const r = await run({});
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(memberCalls(r), [
    ...rollOf('pg-1'), ...rollOf('pg-2'),
    'drainReadOnlyServer pg-1', 'waitForReplicaStreaming pg-0', 'restoreReadOnlyServer pg-1',
    ...rollOf('pg-0'),
  ]);
  assert.deepEqual(r.f.calls.filter((c) => c.name === 'requestSwitchover').map((c) => (c.arg as { to: string }).to), ['pg-1'], 'one switchover, to a re-created replica');
  assert.ok(!r.f.names().includes('patchParameters'), 'a rebuild writes no parameter');
  assert.ok(!r.f.names().includes('readParameterSettings'), 'nothing waits for a restart: nothing to ask');
  const rebuilt = r.f.calls.filter((c) => c.name === 'rebuildMember').map((c) => c.arg as RebuildMemberInput);
  assert.deepEqual(rebuilt.map((a) => [a.member.member, a.containerBefore, a.member.directPort, a.member.spec.size]), [
    ['pg-1', 'old-pg-1', 25441, { cpus: 1, memoryMiB: 512 }], ['pg-2', 'old-pg-2', 25442, { cpus: 1, memoryMiB: 512 }], ['pg-0', 'old-pg-0', 25440, { cpus: 1, memoryMiB: 512 }],
  ], 'each carries the container recorded before, its direct port, and the size it was made with');
  const res = r.result as RebuildClusterResult;
  assert.deepEqual(res.rebuilt.map((m) => [m.member, m.how, m.containerBefore, m.containerAfter]), [
    ['pg-1', 're-created', 'old-pg-1', 'new-pg-1-1'], ['pg-2', 're-created', 'old-pg-2', 'new-pg-2-1'], ['pg-0', 're-created', 'old-pg-0', 'new-pg-0-1'],
  ]);
  assert.deepEqual(res.switchover, { from: 'pg-0', to: 'pg-1' });
  assert.equal(res.writeDowntime, 'one switchover (pg-0 → pg-1)');
  assert.deepEqual(res.size, { cpus: 1, memoryMiB: 512 });
  assert.ok(r.progress.steps.every((s) => s.state === 'done'), JSON.stringify(r.progress.steps));
  assert.ok(r.progress.steps.some((s) => s.name === 're-create pg-1 on the current image (data volume kept)'));
});

test('a worker lost after the new container was made: the retry finds it and makes none, each member re-created exactly once', async () => {
  const r = await run({}, { dieAfterCreating: 'pg-2' });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual([...r.engine.made.entries()].sort(), [['pg-0', 1], ['pg-1', 1], ['pg-2', 1]]);
  assert.equal(r.f.calls.filter((c) => c.name === 'rebuildMember').length, 4, 'pg-2 attempted twice');
  const res = r.result as RebuildClusterResult;
  assert.deepEqual(res.rebuilt.map((m) => [m.member, m.how]), [['pg-1', 're-created'], ['pg-2', 'already re-created'], ['pg-0', 're-created']]);
});

test('resize: the new memory\'s parameters written to the DCS before the first re-creation, the members re-created with the new size', async () => {
  const r = await run({ resize: { memoryMiB: 1024 } });
  assert.equal(r.error, undefined, String(r.error));
  const names = r.f.names();
  assert.ok(names.indexOf('patchParameters') >= 0 && names.indexOf('patchParameters') < names.indexOf('rebuildMember'), names.join(', '));
  const patched = r.f.calls.find((c) => c.name === 'patchParameters')!.arg as { leader: string; changes: ParameterChange[] };
  assert.equal(patched.leader, 'pg-0');
  assert.deepEqual(patched.changes.map((c) => `${c.name}=${c.value}`), [
    'shared_buffers=256MB', 'effective_cache_size=768MB', 'max_connections=128', 'work_mem=4MB', 'maintenance_work_mem=64MB',
  ]);
  const sizes = r.f.calls.filter((c) => c.name === 'rebuildMember').map((c) => (c.arg as RebuildMemberInput).member.spec.size);
  assert.deepEqual(sizes, MEMBERS.map(() => ({ cpus: 1, memoryMiB: 1024 })), 'the CPUs it does not name stay');
  const res = r.result as RebuildClusterResult;
  assert.deepEqual(res.size, { cpus: 1, memoryMiB: 1024 });
  assert.ok(r.progress.steps.some((s) => s.name === 're-create pg-1 with 1 CPU, 1 GiB (data volume kept)'));
  assert.equal(names.at(-1), 'resizePoolers', 'the poolers follow the new max_connections once every member runs it');
  assert.match(res.pooler ?? '', /^default_pool_size /);

  const cpusOnly = await run({ resize: { cpus: 2 } });
  assert.equal(cpusOnly.error, undefined, String(cpusOnly.error));
  assert.ok(!cpusOnly.f.names().includes('patchParameters') && !cpusOnly.f.names().includes('readParameterSettings'), 'CPUs alone change no parameter');
});

test('a resize whose parameters the leader would override (ALTER SYSTEM) is refused before anything changes', async () => {
  const settings = SIZE_SETTING_ROWS.map((s) => (s.name === 'work_mem' ? { ...s, sourcefile: '/var/lib/dbaas/pgdata/postgresql.auto.conf' } : s));
  const r = await run({ resize: { memoryMiB: 1024 } }, { settings });
  assert.equal(rootCause(r.error).type, 'MemberRefused');
  assert.match(rootCause(r.error).message, /^the parameters of 1 CPU, 1 GiB: work_mem is set with ALTER SYSTEM/);
  assert.deepEqual(r.f.names(), ['rebuildSnapshot', 'readParameterSettings']);
});

test('a bad resize fails for good before any activity', async () => {
  const calls: string[] = [];
  const taskQueue = `rebuild-input-${process.pid}`;
  const worker = await createTestWorker(env, taskQueue, { rebuildSnapshot: async () => void calls.push('rebuildSnapshot') });
  await worker.runUntil(async () => {
    const h = await env.client.workflow.start('rebuildCluster', { taskQueue, workflowId: taskQueue, args: [{ cluster: 'orders', resize: { memoryMiB: 100 } }] });
    await assert.rejects(h.result(), (err) => rootCause(err).type === 'SpecError' && /--memory must be at least 256m/.test(rootCause(err).message));
  });
  assert.deepEqual(calls, []);
});

test('resize to less memory lowers max_connections: the leader restarts in place with it first, the replicas stream from it, then the roll', async () => {
  const r = await run({ resize: { memoryMiB: 256 } });
  assert.equal(r.error, undefined, String(r.error));
  const patched = r.f.calls.find((c) => c.name === 'patchParameters')!.arg as { changes: ParameterChange[] };
  assert.equal(patched.changes.find((c) => c.name === 'max_connections')?.value, '32', 'below the 100 the leader runs');
  const calls = memberCalls(r);
  assert.deepEqual(calls.slice(0, 2), ['postmasterStartTime pg-0', 'restartMember pg-0']);
  assert.deepEqual(calls.slice(2, 4).sort(), ['waitForReplicaStreaming pg-1', 'waitForReplicaStreaming pg-2'], 'both at once');
  assert.deepEqual(calls.slice(4, 8), rollOf('pg-1'), 'then the roll as before');
  const names = r.f.names();
  assert.ok(names.indexOf('patchParameters') < names.indexOf('waitForParameters') && names.indexOf('waitForParameters') < names.indexOf('restartMember'),
    'the leader restarts once its Patroni holds the new values');
  const res = r.result as RebuildClusterResult;
  assert.equal(res.writeDowntime, 'pg-0 restarted in place first (replicas cannot run less max_connections than their primary): writes failed while it restarted; then one switchover (pg-0 → pg-1)');
  assert.ok(r.progress.steps.every((s) => s.state === 'done'), JSON.stringify(r.progress.steps));

  const up = await run({ resize: { memoryMiB: 1024 } });
  assert.ok(!up.f.names().includes('restartMember') && !up.f.names().includes('waitForParameters'), 'more memory, more connections: no restart first');
});

test('a rebuild while a lower max_connections waits for the leader\'s restart: the leader restarts in place first (as `cluster restart` does), the replicas stream from it, then the roll', async () => {
  const r = await run({}, { waiting: [{ name: 'max_connections', value: '50' }] });
  assert.equal(r.error, undefined, String(r.error));
  const calls = memberCalls(r);
  assert.deepEqual(calls.slice(0, 2), ['postmasterStartTime pg-0', 'restartMember pg-0'], 'a Patroni restart: a new container would stop Patroni, which hands the leader key to a replica');
  assert.deepEqual(calls.slice(2, 4).sort(), ['waitForReplicaStreaming pg-1', 'waitForReplicaStreaming pg-2']);
  assert.deepEqual(calls.slice(4), [
    ...rollOf('pg-1'), ...rollOf('pg-2'), 'drainReadOnlyServer pg-1', 'waitForReplicaStreaming pg-0', 'restoreReadOnlyServer pg-1', ...rollOf('pg-0'),
  ], 'then the rebuild as ever: the leader still gets its new container');
  const names = r.f.names();
  assert.deepEqual(names.filter((n) => n === 'readParameterSettings').length, 1, 'asked once, in the check');
  assert.ok(!names.includes('patchParameters') && !names.includes('waitForParameters'), 'nothing written: the DCS holds the value already');
  const res = r.result as RebuildClusterResult;
  assert.deepEqual(res.leaderFirst, ['max_connections']);
  assert.equal(res.writeDowntime, 'pg-0 restarted in place first (replicas cannot run less max_connections than their primary): writes failed while it restarted; then one switchover (pg-0 → pg-1)');
  assert.ok(r.progress.steps.every((x) => x.state === 'done'), JSON.stringify(r.progress.steps));
  assert.ok(r.progress.steps.some((x) => x.name.startsWith('restart pg-0 in place first')));

  const raised = await run({}, { waiting: [{ name: 'max_connections', value: '200' }] });
  assert.equal(raised.error, undefined, String(raised.error));
  assert.ok(!raised.f.names().includes('restartMember') && raised.f.names().includes('readParameterSettings'), 'an increase applies on the roll: asked, no restart first');
  assert.equal((raised.result as RebuildClusterResult).leaderFirst, undefined);
});

test('a resize names its own max_connections: a waiting value of it gives way; another waiting decrease still restarts the leader first', async () => {
  const mine = await run({ resize: { memoryMiB: 1024 } }, { waiting: [{ name: 'max_connections', value: '50' }] });
  assert.equal(mine.error, undefined, String(mine.error));
  assert.ok(!mine.f.names().includes('restartMember'), 'the resize writes 128 over the waiting 50: more than the leader runs');
  const settings = [...SIZE_SETTING_ROWS, settingRow('max_worker_processes', { setting: '16', min_val: '0', max_val: '262143', context: 'postmaster' })];
  const other = await run({ resize: { memoryMiB: 1024 } }, { settings, waiting: [{ name: 'max_worker_processes', value: '12' }] });
  assert.equal(other.error, undefined, String(other.error));
  const names = other.f.names();
  assert.ok(names.indexOf('patchParameters') < names.indexOf('waitForParameters') && names.indexOf('waitForParameters') < names.indexOf('restartMember'), names.join(', '));
  assert.deepEqual((other.result as RebuildClusterResult).leaderFirst, ['max_worker_processes']);
});
