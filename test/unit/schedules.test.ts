/** upsertBackupSchedule against a scripted schedule client: update in place, never delete; a refused spec changes nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, ScheduleDescription, ScheduleUpdateOptions } from '@temporalio/client';
import { ScheduleSpecRefused, upsertBackupSchedule } from '../../activities/schedules';

interface Calls { update: ScheduleUpdateOptions[]; delete: number; create: number }

/** One existing schedule with cron "0 3 * * *", paused; update() throws `updateError` when given. */
function scriptedClient(updateError?: Error, catchupWindow = 6 * 3600_000): { client: Client; calls: Calls } {
  const calls: Calls = { update: [], delete: 0, create: 0 };
  const current = {
    scheduleId: 'backup-schedule:orders:full',
    action: { memo: { cron: '0 3 * * *' }, args: [{ cluster: 'orders', type: 'full', fromStandby: false }] },
    memo: {},
    state: { paused: true, note: 'paused with dbaas backup schedule pause' },
    policies: { catchupWindow },
  } as unknown as ScheduleDescription;
  const handle = {
    describe: async () => current,
    update: async (fn: (d: ScheduleDescription) => ScheduleUpdateOptions) => {
      const next = fn(current);
      if (updateError) throw updateError;
      calls.update.push(next);
    },
    delete: async () => { calls.delete++; },
  };
  const client = { schedule: { getHandle: () => handle, create: async () => { calls.create++; } } } as unknown as Client;
  return { client, calls };
}

test('another cron updates the existing schedule in place, keeping its paused state; the same cron changes nothing', async () => {
  const { client, calls } = scriptedClient();
  assert.equal(await upsertBackupSchedule(client, 'orders', 'full', '0 3 * * *'), 'unchanged');
  assert.equal(await upsertBackupSchedule(client, 'orders', 'full', '15 4 * * *'), 'updated');
  assert.deepEqual([calls.delete, calls.create, calls.update.length], [0, 0, 1]);
  const [u] = calls.update;
  assert.deepEqual(u.spec.cronExpressions, ['15 4 * * *']);
  assert.deepEqual(u.action.memo, { cron: '15 4 * * *' }, 'the cron text rides in the action memo, which update can change');
  assert.equal((u.state as { paused?: boolean }).paused, true);
  assert.equal(u.policies?.catchupWindow, 6 * 3600_000);
});

test('a schedule from before the 6-hour catch-up window is updated even with the same cron', async () => {
  const { client, calls } = scriptedClient(undefined, 60_000);
  assert.equal(await upsertBackupSchedule(client, 'orders', 'full', '0 3 * * *'), 'updated');
  assert.equal(calls.update[0].policies?.catchupWindow, 6 * 3600_000);
});

test('a spec the server refuses is a ScheduleSpecRefused, and nothing was deleted', async () => {
  const { client, calls } = scriptedClient(new TypeError('Invalid schedule spec: Minute is not in range [0-59]'));
  await assert.rejects(upsertBackupSchedule(client, 'orders', 'full', '99 3 * * *'), (e: Error) => e instanceof ScheduleSpecRefused && /Minute is not in range/.test(e.message));
  assert.deepEqual([calls.delete, calls.create], [0, 0]);
});
