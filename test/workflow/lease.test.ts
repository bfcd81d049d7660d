/**
 * The per-cluster operation lease with the real ClusterLease workflow and fake cluster activities,
 * all on one task queue: a second operation waits for the first, a delete refuses the queued ones
 * and waits for the running one, `--no-wait` (the memo) is refused with the holder's line, a
 * terminated holder is noticed, a cancelled waiter withdraws, the watch defers healing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { LEASE_NO_WAIT_MEMO, leaseWorkflowId, type LeaseState } from '../../common/lease';
import { TASK_QUEUE } from '../../common/task-queues';
import type { Progress } from '../../common/progress';
import type { ClusterEvent } from '../../common/events';
import { fakeActivities, type Fake } from '../helpers/fake-activities';
import { rootCause } from '../helpers/run-with-fakes';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

/** An activity that blocks until the test opens it, so an operation holds the lease as long as the test needs. */
class Gate {
  reached = false;
  private open!: () => void;
  private readonly opened = new Promise<void>((r) => (this.open = r));
  async pass(): Promise<void> {
    this.reached = true;
    await this.opened;
  }
  release(): void {
    this.open();
  }
}

let q = 0;
interface Bench {
  taskQueue: string;
  f: Fake;
  gate: Gate;
  worker: Worker;
  start(workflow: string, id: string, arg: unknown, memo?: Record<string, unknown>): Promise<WorkflowHandle>;
  lease(): Promise<LeaseState | undefined>;
}

/** One worker on one queue; `stopMember` waits at the gate (RemoveReplica holds the lease there). */
async function withBench(body: (b: Bench) => Promise<void>, overrides: Record<string, (a: never) => Promise<unknown>> = {}): Promise<void> {
  const taskQueue = `lease-${process.pid}-${++q}`;
  const f = fakeActivities();
  const gate = new Gate();
  const stop = f.activities.stopMember;
  const activities = { ...f.activities, stopMember: async (a: never) => {
    await gate.pass();
    return stop(a);
  }, ...overrides };
  const worker = await createTestWorker(env, taskQueue, activities);
  const leaseId = leaseWorkflowId('orders', taskQueue, TASK_QUEUE);
  const b: Bench = {
    taskQueue, f, gate, worker,
    start: (workflow, id, arg, memo) => env.client.workflow.start(workflow, { taskQueue, workflowId: `${id}@${taskQueue}`, args: [arg], memo }),
    lease: async () => {
      try {
        const h = env.client.workflow.getHandle(leaseId);
        return (await h.describe()).status.name === 'RUNNING' ? await h.query<LeaseState>('leaseState') : undefined;
      } catch {
        return undefined;
      }
    },
  };
  await worker.runUntil(async () => {
    try {
      await body(b);
    } finally {
      gate.release();
    }
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const removePg2 = { cluster: 'orders', member: 'pg-2', drainTimeoutMs: 1000 };

/** RemoveReplica takes the lease and stops at the gate; AddPoolers then queues behind it. */
async function holdAndQueue(b: Bench): Promise<{ remove: WorkflowHandle; queued: WorkflowHandle }> {
  const remove = await b.start('removeReplica', 'remove-replica:orders:pg-2', removePg2);
  await until('remove-replica at its stop', () => b.gate.reached);
  const queued = await b.start('addPoolers', 'add-poolers:orders', 'orders');
  await until('add-poolers to queue', async () => ((await b.lease())?.queue.length === 1 ? true : undefined));
  return { remove, queued };
}
const leaseStepState = async (h: WorkflowHandle): Promise<string | undefined> =>
  (await h.query<Progress>('progress').catch(() => undefined))?.steps.find((s) => s.name === 'wait for the operation lease on orders')?.state;

test('a second operation waits for the first to release the lease, then runs its own checks', async () => {
  await withBench(async (b) => {
    const { remove, queued } = await holdAndQueue(b);
    const state = (await b.lease())!;
    assert.deepEqual(state.holders.map((h) => h.operation), ['remove-replica']);
    assert.deepEqual(state.queue.map((r) => r.operation), ['add-poolers']);
    assert.equal(await leaseStepState(queued), 'running');
    assert.ok(!b.f.names().includes('ensurePoolerAuth'), 'add-poolers changed nothing while it waited');
    b.gate.release();
    await remove.result();
    await queued.result();
    const names = b.f.names();
    assert.ok(names.lastIndexOf('describeCluster') > names.indexOf('removeMemberVolume'), 'add-poolers looked at the cluster after the removal ended');
    await until('the idle lease to end', async () => ((await b.lease()) === undefined ? true : undefined));
  });
});

test('a delete refuses the queued operation, waits for the running one (to its end), then removes', async () => {
  await withBench(async (b) => {
    const remove = await b.start('removeReplica', 'remove-replica:orders:pg-2', removePg2);
    await until('remove-replica at its stop', () => b.gate.reached);
    const backup = await b.start('backup', 'backup:orders:x', { cluster: 'orders', type: 'full', fromStandby: false });
    await until('backup to queue', async () => ((await b.lease())?.queue.length === 1 ? true : undefined));
    const del = await b.start('deleteCluster', 'delete-cluster:orders', { name: 'orders', keepData: false });
    await assert.rejects(backup.result(), (err) => {
      assert.equal(rootCause(err).type, 'ClusterBeingDeleted');
      assert.match(rootCause(err).message, /^cluster orders is being deleted \(delete-cluster:orders@lease-/);
      return true;
    });
    await until('delete to queue', async () => ((await b.lease())?.queue.some((r) => r.operation === 'delete') ? true : undefined));
    assert.ok(!b.f.names().includes('removeCluster'), 'nothing removed while remove-replica runs');
    const late = await b.start('addPoolers', 'add-poolers:orders', 'orders');
    await assert.rejects(late.result(), (err) => rootCause(err).type === 'ClusterBeingDeleted');
    b.gate.release();
    await remove.result();
    await del.result();
    const names = b.f.names();
    assert.ok(names.indexOf('removeCluster') > names.indexOf('removeMemberVolume'), 'removed after remove-replica ended');
    assert.ok(!names.includes('backupStatus') && !names.includes('runBackup'), 'the refused backup did nothing');
  });
});

test('--no-wait (the memo): refused with the holder\'s line, nothing changed; granted when the cluster is free', async () => {
  await withBench(async (b) => {
    const remove = await b.start('removeReplica', 'remove-replica:orders:pg-2', removePg2);
    await until('remove-replica at its stop', () => b.gate.reached);
    const before = b.f.calls.length;
    const refused = await b.start('addPoolers', 'add-poolers:orders', 'orders', { [LEASE_NO_WAIT_MEMO]: true });
    await assert.rejects(refused.result(), (err) => {
      assert.equal(rootCause(err).type, 'LeaseBusy');
      assert.equal(rootCause(err).message, `waiting for remove-replica (remove-replica:orders:pg-2@${b.taskQueue}) on orders`);
      return true;
    });
    assert.equal(b.f.calls.length, before, 'no activity ran for it');
    b.gate.release();
    await remove.result();
    const free = await b.start('addPoolers', 'add-poolers:orders:2', 'orders', { [LEASE_NO_WAIT_MEMO]: true });
    await free.result();
  });
});

test('a holder terminated without releasing is noticed by the liveness check; the next operation runs', async () => {
  await withBench(async (b) => {
    // The lease checks its holders every 15 s: this test takes that long.
    const { remove, queued } = await holdAndQueue(b);
    await remove.terminate('test: a holder that never releases');
    const r = await queued.result();
    assert.equal((r as { cluster: string }).cluster, 'orders');
  });
});

test('an operation cancelled while it waits withdraws: it never runs, and the lease ends when the holder is done', async () => {
  await withBench(async (b) => {
    const { remove, queued } = await holdAndQueue(b);
    await queued.cancel();
    await assert.rejects(queued.result());
    await until('the withdrawal', async () => ((await b.lease())?.queue.length === 0 ? true : undefined));
    b.gate.release();
    await remove.result();
    await until('the idle lease to end', async () => ((await b.lease()) === undefined ? true : undefined));
    assert.ok(!b.f.names().includes('ensurePoolerAuth'));
  });
});

test('the watch defers healing while an operation holds the lease, and heals once it is free', async () => {
  // pg-1 crashed ten minutes ago (exit 137): due for a restart from its second sighting.
  let restarts = 0;
  const observeCluster = async () => {
    const at = Date.now();
    return {
      at, patroniAnswered: true,
      members: [
        { name: 'pg-0', container: 'running', exitCode: 0, finishedAt: '0001-01-01T00:00:00Z', patroni: { role: 'leader', state: 'running', timeline: 1 } },
        restarts > 0
          ? { name: 'pg-1', container: 'running', exitCode: 0, finishedAt: '0001-01-01T00:00:00Z', patroni: { role: 'replica', state: 'running', timeline: 1, lag: 0 } }
          : { name: 'pg-1', container: 'exited', exitCode: 137, finishedAt: new Date(Date.parse('2026-01-01T00:00:00Z')).toISOString() },
      ],
    };
  };
  const restartMemberContainer = async () => {
    restarts++;
    return { restarted: true };
  };
  await withBench(async (b) => {
    const remove = await b.start('removeReplica', 'remove-replica:orders:pg-2', removePg2);
    await until('remove-replica at its stop', () => b.gate.reached);
    const w = await env.client.workflow.start('clusterWatch', {
      taskQueue: b.taskQueue, workflowId: `cluster-watch:orders@${b.taskQueue}`, args: [{ cluster: 'orders', profile: 'fast', intervalMs: 200 }],
    });
    const events = (): Promise<ClusterEvent[]> => w.query<ClusterEvent[]>('events');
    const deferred = await until('a deferred heal', async () => (await events()).find((e) => e.kind === 'heal-skipped' && /deferred/.test(e.message)));
    assert.match(deferred.message, /^healing deferred: waiting for remove-replica \(remove-replica:orders:pg-2@lease-[^)]+\) on orders$/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(restarts, 0, 'nothing restarted while remove-replica held the lease');
    assert.equal((await events()).filter((e) => /deferred/.test(e.message)).length, 1, 'said once, not every poll');
    b.gate.release();
    await remove.result();
    await until('the heal', async () => ((await events()).some((e) => e.kind === 'heal-restart') ? true : undefined));
    assert.equal(restarts, 1);
    await w.cancel();
  }, { observeCluster, restartMemberContainer } as unknown as Record<string, (a: never) => Promise<unknown>>);
});

test('a backup queued behind another operation reads the cluster again once granted: its reads while it waited are not used', async () => {
  const { madeBackup, stanzaStatus } = await import('../helpers/fake-backup');
  // Each stanza read: whether the removal had ended by then.
  const statusReads: boolean[] = [];
  let bench: Bench | undefined;
  const backupFakes = {
    clusterHasRepository: async () => true,
    backupStatus: async () => {
      statusReads.push(bench?.f.names().includes('removeMemberVolume') ?? false);
      return stanzaStatus([]);
    },
    runBackup: async () => madeBackup,
    recordRowCounts: async () => ({ at: '2026-11-23 12:00:06.000+00', tables: 1 }),
  };
  await withBench(async (b) => {
    bench = b;
    const remove = await b.start('removeReplica', 'remove-replica:orders:pg-2', removePg2);
    await until('remove-replica at its stop', () => b.gate.reached);
    const queued = await b.start('backup', 'backup:orders:queued', { cluster: 'orders', type: 'full', fromStandby: false });
    await until('the backup to queue', async () => ((await b.lease())?.queue.length === 1 ? true : undefined));
    b.gate.release();
    await remove.result();
    assert.deepEqual(await queued.result(), madeBackup);
    assert.deepEqual(statusReads, [false, true], 'once beside the lease request (during the removal), once under the lease (after it)');
  }, backupFakes);
});
