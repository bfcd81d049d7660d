/**
 * ClusterWatch logic on a real Temporal dev server with scripted observations: events in the
 * log, healing calls, continue-as-new keeping the log, cancellation, a deleted cluster.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterEvent, ClusterSnapshot, MemberObservation } from '../../common/events';
import type { Progress } from '../../common/progress';
import type { ClusterWatchInput, ClusterWatchResult } from '../../workflows/clusterWatch';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const T0 = Date.parse('2026-01-01T12:00:00Z');
const running = (name: string, role: 'leader' | 'replica', timeline = 1, state = 'running'): MemberObservation => ({
  name, container: 'running', exitCode: 0, finishedAt: '0001-01-01T00:00:00Z', patroni: { role, state, timeline, lag: role === 'leader' ? undefined : 0 },
});
const killedAt = (name: string, secs: number): MemberObservation => ({ name, container: 'exited', exitCode: 137, finishedAt: new Date(T0 + secs * 1000).toISOString() });
/** Observation n is taken at T0 + 2n seconds (the scripted clock, independent of real time). */
const at = (n: number, members: MemberObservation[], patroniAnswered = true): ClusterSnapshot => ({ at: T0 + n * 2000, patroniAnswered, members });

interface Script {
  /** The n-th observation (0-based); the last one repeats. Throwing makes the observation fail. */
  observe(n: number, restarted: Set<string>): ClusterSnapshot;
}

interface Watch {
  handle: WorkflowHandleWithFirstExecutionRunId;
  calls: { name: string; arg: unknown }[];
  events(): Promise<ClusterEvent[]>;
}

let q = 0;

/** Run a watch on its own task queue with scripted observations until `body` is done. */
async function withWatch<T>(script: Script, input: Partial<ClusterWatchInput>, body: (w: Watch) => Promise<T>): Promise<T> {
  const taskQueue = `watch-${process.pid}-${++q}`;
  const calls: { name: string; arg: unknown }[] = [];
  const restarted = new Set<string>();
  let n = 0;
  const activities = {
    async observeCluster(arg: unknown): Promise<ClusterSnapshot> {
      calls.push({ name: 'observeCluster', arg });
      return script.observe(n++, restarted);
    },
    async restartMemberContainer(arg: { member: string }) {
      calls.push({ name: 'restartMemberContainer', arg });
      restarted.add(arg.member);
      return { restarted: true };
    },
    async reinitializeMember(arg: unknown) {
      calls.push({ name: 'reinitializeMember', arg });
      return { accepted: true, answer: 'reinitialize started' };
    },
    async publishScrapeTargets(arg: unknown) {
      calls.push({ name: 'publishScrapeTargets', arg });
      return { targets: 3, changed: true };
    },
  };
  const worker = await createTestWorker(env, taskQueue, activities);
  return worker.runUntil(async () => {
    const args: ClusterWatchInput = { cluster: 'orders', profile: 'fast', intervalMs: 0, ...input };
    const handle = await env.client.workflow.start('clusterWatch', { taskQueue, workflowId: `cluster-watch:${taskQueue}`, args: [args] });
    const w: Watch = { handle, calls, events: () => handle.query<ClusterEvent[]>('events') };
    try {
      return await body(w);
    } finally {
      await handle.cancel().catch(() => undefined);
    }
  });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const kinds = (es: ClusterEvent[]): string[] => es.map((e) => `${e.kind}${e.member ? ':' + e.member : ''}`);

test('a leader killed: events from member down to failover, the old leader restarted after the grace period and back up', async () => {
  // pg-0 (leader) is SIGKILLed just before observation 1; pg-1 takes over at observation 5.
  const script: Script = {
    observe: (n, restarted) => {
      if (n === 0) return at(0, [running('pg-0', 'leader'), running('pg-1', 'replica')]);
      if (restarted.has('pg-0')) return at(n, [running('pg-0', 'replica', 2), running('pg-1', 'leader', 2)]);
      if (n < 5) return at(n, [killedAt('pg-0', 1), running('pg-1', 'replica')]);
      return at(n, [killedAt('pg-0', 1), running('pg-1', 'leader', 2)]);
    },
  };
  await withWatch(script, {}, async (w) => {
    const events = await eventually('pg-0 back up', async () => {
      const es = await w.events();
      return es.some((e) => e.kind === 'member-up' && e.member === 'pg-0') ? es : undefined;
    });
    assert.deepEqual(kinds(events), [
      'watch-started', 'member-down:pg-0', 'no-leader', 'failover:pg-1', 'timeline-changed:pg-1', 'heal-restart:pg-0', 'member-up:pg-0',
    ]);
    const failover = events.find((e) => e.kind === 'failover')!;
    assert.equal(failover.at, new Date(T0 + 5 * 2000).toISOString(), 'stamped with the observation time');
    const restarts = w.calls.filter((c) => c.name === 'restartMemberContainer');
    assert.deepEqual(restarts.map((c) => c.arg), [{ cluster: 'orders', member: 'pg-0', finishedAt: new Date(T0 + 1000).toISOString() }]);
    // Grace for the fast profile is ttl + loop_wait = 12 s: no restart before the scripted clock passed it.
    const restartIdx = w.calls.findIndex((c) => c.name === 'restartMemberContainer');
    const observationsBefore = w.calls.slice(0, restartIdx).filter((c) => c.name === 'observeCluster').length;
    assert.ok((observationsBefore - 1) * 2 - 1 >= 12, `restarted ${(observationsBefore - 1) * 2 - 1} s after the kill`);
    const progress = await w.handle.query<Progress>('progress');
    assert.equal(progress.operation, 'watch');
    assert.equal(progress.steps[0].state, 'running');
  });
});

test('a member stopped cleanly (exit 0) or removed is never restarted', async () => {
  const stopped: MemberObservation = { name: 'pg-2', container: 'exited', exitCode: 0, finishedAt: new Date(T0).toISOString() };
  const script: Script = {
    observe: (n) => n < 3
      ? at(n, [running('pg-0', 'leader'), running('pg-1', 'replica'), running('pg-2', 'replica')])
      : n < 10 ? at(n, [running('pg-0', 'leader'), running('pg-1', 'replica'), stopped]) : at(n, [running('pg-0', 'leader'), running('pg-1', 'replica')]),
  };
  await withWatch(script, {}, async (w) => {
    const events = await eventually('pg-2 removed', async () => {
      const es = await w.events();
      return es.some((e) => e.kind === 'member-removed') ? es : undefined;
    });
    assert.deepEqual(kinds(events), ['watch-started', 'member-down:pg-2', 'heal-skipped:pg-2', 'member-removed:pg-2']);
    assert.match(events[2].message, /stopped cleanly \(exit 0\): left stopped/);
    assert.ok(!w.calls.some((c) => c.name === 'restartMemberContainer'));
  });
});

test('a replica stuck after a failed rejoin is reinitialized once', async () => {
  const script: Script = { observe: (n) => at(n, [running('pg-0', 'leader', 2), running('pg-1', 'replica', 2, 'start failed')]) };
  await withWatch(script, { rules: { stuckAfterMs: 10_000 } }, async (w) => {
    const events = await eventually('reinitialize', async () => {
      const es = await w.events();
      return es.some((e) => e.kind === 'heal-reinitialize') ? es : undefined;
    });
    // Stuck from observation 0 (t = 0 s): due at observation 5 (t = 10 s). Healing takes the
    // cluster's lease and looks again before it acts: observation 6 (t = 12 s) is what it acts on.
    const reinit = events.find((e) => e.kind === 'heal-reinitialize')!;
    assert.match(reinit.message, /reinitializing pg-1 from the leader \(Patroni state "start failed" for 12 s\): reinitialize started/);
    await eventually('a few more polls', async () => (w.calls.length > 16 ? true : undefined));
    assert.equal(w.calls.filter((c) => c.name === 'reinitializeMember').length, 1, 'not again within the cooldown');
  });
});

test('continue-as-new carries the log and the last snapshot: no event is lost or repeated', async () => {
  const script: Script = {
    observe: (n) => at(n, [running('pg-0', n < 7 ? 'leader' : 'replica', n < 7 ? 1 : 2), running('pg-1', n < 7 ? 'replica' : 'leader', n < 7 ? 1 : 2)]),
  };
  await withWatch(script, { pollsPerRun: 3 }, async (w) => {
    const events = await eventually('the switchover', async () => {
      const es = await w.events();
      return es.some((e) => e.kind === 'timeline-changed') ? es : undefined;
    });
    assert.deepEqual(kinds(events), ['watch-started', 'switchover:pg-1', 'timeline-changed:pg-1']);
    const d = await w.handle.describe();
    assert.notEqual(d.runId, w.handle.firstExecutionRunId, 'the watch continued as new');
    assert.equal(d.status.name, 'RUNNING');
    assert.ok(d.historyLength < 80, `one run's history stays small (${d.historyLength} events)`);
  });
});

test('the scrape targets are published at the start and when the members change, not every poll, and not again after continue-as-new', async () => {
  // pg-2 joins at observation 3; pg-1 stops at observation 6 (cleanly: nothing heals it).
  const stopped: MemberObservation = { name: 'pg-1', container: 'exited', exitCode: 0, finishedAt: new Date(T0 + 11_000).toISOString() };
  const script: Script = {
    observe: (n) => at(n, [
      running('pg-0', 'leader'),
      n < 6 ? running('pg-1', 'replica') : stopped,
      ...(n >= 3 ? [running('pg-2', 'replica')] : []),
    ]),
  };
  await withWatch(script, { pollsPerRun: 4 }, async (w) => {
    await eventually('ten polls', async () => (w.calls.filter((c) => c.name === 'observeCluster').length >= 10 ? true : undefined));
    const seen = w.calls.filter((c) => c.name === 'observeCluster' || c.name === 'publishScrapeTargets').slice(0, 13);
    const publishedAfter = seen.flatMap((c, k) => (c.name === 'publishScrapeTargets' ? [seen.slice(0, k).filter((x) => x.name === 'observeCluster').length - 1] : []));
    assert.deepEqual(publishedAfter, [0, 3, 6], 'after observations 0, 3 and 6');
    assert.ok(w.calls.filter((c) => c.name === 'publishScrapeTargets').every((c) => c.arg === 'orders'));
  });
});

test('an observation that fails is one event, and the watch carries on', async () => {
  const script: Script = {
    observe: (n) => {
      if (n >= 1 && n < 4) throw new Error('docker is not answering');
      return at(n, [running('pg-0', 'leader'), running('pg-1', 'replica')]);
    },
  };
  await withWatch(script, {}, async (w) => {
    await eventually('polls after the outage', async () => (w.calls.filter((c) => c.name === 'observeCluster').length > 12 ? true : undefined));
    const events = await w.events();
    assert.deepEqual(kinds(events), ['watch-started', 'watch-error']);
    assert.match(events[1].message, /cannot observe orders: .*docker is not answering/);
  });
});

test('cancelling the watch (DeleteCluster does) ends it; a cluster without containers ends it by itself', async () => {
  const healthy: Script = { observe: (n) => at(n, [running('pg-0', 'leader')]) };
  await withWatch(healthy, {}, async (w) => {
    await eventually('first poll', async () => ((await w.events()).length > 0 ? true : undefined));
    await w.handle.cancel();
    const err = await w.handle.result().catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
  });
  const gone: Script = { observe: (n) => at(n, n < 2 ? [running('pg-0', 'leader')] : []) };
  await withWatch(gone, {}, async (w) => {
    const r = (await w.handle.result()) as ClusterWatchResult;
    assert.equal(r.reason, 'cluster gone');
    assert.match((await w.events()).at(-1)?.message ?? '', /no member containers left/);
  });
});

test('a watch input with an unknown PostgreSQL version fails at once with the reason, before any observation', async () => {
  await withWatch({ observe: () => { throw new Error('never observed'); } } as unknown as Script, { postgresVersion: 16 as never }, async (w) => {
    await assert.rejects(w.handle.result(), (e: Error) => /--version must be one of 15, 17, got 16/.test(String((e as { cause?: Error }).cause?.message ?? e.message)));
    assert.deepEqual(w.calls, []);
  });
});
