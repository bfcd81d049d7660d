/** The CLI's follower prints each step once: steps that ended before it attached are not printed again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Progress } from '../../common/progress';
import { watchWorkflow } from '../../client/watch';
import type { FollowedRun } from '../../client/temporal/gateway';

function fakeOut(): { out: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const out = { isTTY: false, write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WriteStream;
  return { out, lines: () => text.split('\n').filter(Boolean) };
}

test('watchWorkflow: steps shown before attaching are not printed again; the rest are, once', async () => {
  const progress: Progress = {
    operation: 'upgrade', cluster: 'orders',
    steps: [
      { name: 'pause the poolers', state: 'done' },
      { name: 'wait for `upgrade finish` or `upgrade rollback`', state: 'done' },
      { name: 'drop the subscriptions', state: 'done' },
      { name: 'remove generation 1', state: 'done' },
    ],
  };
  const handle = { workflowId: 'upgrade-blue-green:orders', query: async () => progress, result: async () => 'ok' } as unknown as FollowedRun;
  const { out, lines } = fakeOut();
  const value = await watchWorkflow<string>(handle, async () => null, out, new Set(['pause the poolers', 'wait for `upgrade finish` or `upgrade rollback`']));
  assert.equal(value, 'ok');
  const printed = lines().filter((l) => l.startsWith('✓'));
  assert.deepEqual(printed.map((l) => l.replace(/ \([\d.]+s\)$/, '')), ['✓ drop the subscriptions', '✓ remove generation 1']);
});

/** A run whose history never grows while one step runs for `ms`, counting the follower's queries. */
async function queriesWhileRunning(step: string, ms: number): Promise<number> {
  let queries = 0;
  const progress: Progress = { operation: 'backup', cluster: 'orders', steps: [{ name: step, state: 'running' }] };
  const handle = {
    workflowId: 'backup:orders:1',
    query: async () => { queries++; return progress; },
    result: () => new Promise((r) => setTimeout(() => r('ok'), ms)),
    nextChange: () => new Promise(() => undefined), // nothing happens in the history
  } as unknown as FollowedRun;
  await watchWorkflow<string>(handle, async () => null, fakeOut().out);
  return queries;
}

test('watchWorkflow: with a history to wait on, a running step costs no queries; a wait for the lease is asked about every second', async () => {
  // Once at the start and once at the end: each query is a workflow task on the worker, beside the operation.
  assert.equal(await queriesWhileRunning('run the full backup (on the leader, pg-0)', 2500), 2);
  // The lease holder's line needs a fresh answer while the lease is awaited.
  assert.ok(await queriesWhileRunning('wait for the operation lease on orders', 2500) >= 3);
});
