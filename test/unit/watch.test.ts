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
