/** Long work fails on lack of progress, not on a clock: the watch, and the measure of a data directory being filled. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STALL_MS, ProgressWatch, stallLength, stallMessage } from '../../activities/progress-watch';
import { parseDataProgress } from '../../activities/data-progress';
import { pollWhileProgressing } from '../../activities/heartbeat';
import { failedReplicas } from '../../common/restore';

const MIN = 60_000;

test('a measure that keeps moving never stalls, however long the work takes', () => {
  const w = new ProgressWatch(5 * MIN, 0);
  for (let t = 0; t <= 24 * 60 * MIN; t += MIN) assert.deepEqual(w.observe(String(t * 1000), t), { stalled: false });
});

test('a measure that stands still for the stall window stalls, naming what it last saw', () => {
  const w = new ProgressWatch(5 * MIN, 0);
  assert.deepEqual(w.observe('100 bytes', 0), { stalled: false });
  assert.deepEqual(w.observe('200 bytes', MIN), { stalled: false });
  assert.deepEqual(w.observe('200 bytes', 5 * MIN), { stalled: false }, 'four minutes still');
  assert.deepEqual(w.observe('200 bytes', 6 * MIN), { stalled: true, stillForMs: 5 * MIN, lastSeen: '200 bytes' });
});

test('any change is progress (a --delta restore shrinks, WAL recycling too); a change back after a stall resets it', () => {
  const w = new ProgressWatch(5 * MIN, 0);
  w.observe('300', 0);
  assert.equal(w.observe('250', 4 * MIN).stalled, false);
  assert.equal(w.observe('250', 8 * MIN).stalled, false);
  assert.equal(w.observe('250', 9 * MIN).stalled, true);
  assert.equal(w.observe('300', 10 * MIN).stalled, false);
});

test('an unreadable measure is no progress, and the last one read is kept for the message', () => {
  const w = new ProgressWatch(5 * MIN, 0);
  w.observe('0/3000148', MIN);
  assert.equal(w.observe(undefined, 3 * MIN).stalled, false);
  assert.deepEqual(w.observe(undefined, 6 * MIN), { stalled: true, stillForMs: 5 * MIN, lastSeen: '0/3000148' });
});

test('a measure that never appears stalls the window after the start', () => {
  const w = new ProgressWatch(DEFAULT_STALL_MS, 1000);
  assert.equal(w.observe(undefined, 1000 + DEFAULT_STALL_MS - 1).stalled, false);
  assert.deepEqual(w.observe(undefined, 1000 + DEFAULT_STALL_MS), { stalled: true, stillForMs: DEFAULT_STALL_MS, lastSeen: 'nothing measured' });
});

test('the stall message says how long and what was last seen', () => {
  assert.equal(stallLength(5 * MIN), '5 min');
  assert.equal(stallLength(90_000), '90 s');
  assert.equal(stallMessage('pg-1 streaming', 5 * MIN, 'data directory 42 bytes'), 'pg-1 streaming: no progress for 5 min: data directory 42 bytes');
});

test('the data directory measure: its size and the recovery processes\' titles, not the probing shell', () => {
  const output = [
    '1234567',
    '/usr/bin/python3 /usr/bin/patroni /etc/patroni/patroni.yml',
    'postgres: orders: checkpointer    ',
    'postgres: orders: walreceiver streaming 0/3000148   ',
    'postgres: orders: startup recovering 000000010000000000000003   ',
    "sh -c du -sb /var/lib/dbaas/pgdata | cut -f1; for f in /proc/[0-9]*/cmdline; do tr ... startup walreceiver",
    '',
  ].join('\n');
  assert.equal(parseDataProgress(output), 'data directory 1234567 bytes, startup recovering 000000010000000000000003, walreceiver streaming 0/3000148');
  assert.equal(parseDataProgress('2048\n/usr/lib/postgresql/15/bin/pg_basebackup -D /var/lib/dbaas/pgdata.new\n'), 'data directory 2048 bytes');
  assert.equal(parseDataProgress('postgres: startup recovering 00000001000000000000000A\n'), 'startup recovering 00000001000000000000000A',
    'a title without a cluster name, and no size (du failed: no data directory yet)');
  assert.equal(parseDataProgress('\nsh -c true\n'), undefined);
});

test('a restore whose replicas failed names them and the command that adds as many', () => {
  assert.equal(failedReplicas('copy', []), undefined);
  assert.deepEqual(failedReplicas('copy', [{ member: 'pg-1', reason: 'no progress' }]), {
    members: [{ member: 'pg-1', reason: 'no progress' }], addCommand: 'dbaas replica add copy',
  });
  assert.equal(failedReplicas('copy', [{ member: 'pg-1', reason: 'x' }, { member: 'pg-2', reason: 'y' }])?.addCommand, 'dbaas replica add copy --count 2');
});

test('a progress wait goes on while the measure moves and fails Stalled (final) once it stands still', async () => {
  let polls = 0;
  const done = await pollWhileProgressing('clone', async () => (++polls >= 20 ? { done: polls } : { status: `poll ${polls}` }),
    async () => String(polls), { intervalMs: 5, measureEveryMs: 0, stallMs: 40 });
  assert.equal(done, 20, 'twenty polls (about 100 ms) outlast the 40 ms window: the measure moved at each');
  await assert.rejects(
    pollWhileProgressing('clone of pg-1', async () => ({ status: 'pg-1 creating replica' }), async () => 'data directory 42 bytes',
      { intervalMs: 5, measureEveryMs: 0, stallMs: 40 }),
    (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'Stalled');
      assert.equal(err.nonRetryable, true);
      assert.equal(err.message, 'clone of pg-1: no progress for 0 s: pg-1 creating replica; last measure: data directory 42 bytes');
      return true;
    },
  );
});
