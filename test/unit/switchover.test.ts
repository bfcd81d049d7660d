/** Switchover decisions: candidate choice and refusals, "already issued" on retry, --at parsing, ids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseCandidate, issueDecision, parseSwitchoverTime, sameRequest, switchoverWorkflowId,
  type DcsState, type SwitchoverMemberView, type SwitchoverSnapshot,
} from '../../common/switchover';
import { dcsViewFromKeys, parseFailoverKey } from '../../activities/switchover-dcs';
import { healthySnapshot, replica } from '../helpers/fake-switchover';

const MiB = 1024 * 1024;
const snapshot = (members: SwitchoverMemberView[], extra: Partial<SwitchoverSnapshot> = {}): SwitchoverSnapshot => ({ ...healthySnapshot(members), ...extra });

test('a named candidate that is running, streaming and caught up is chosen', () => {
  const s = snapshot([replica('pg-1'), replica('pg-2')]);
  assert.deepEqual(chooseCandidate(s, 'pg-2'), { kind: 'switch', from: 'pg-0', candidate: 'pg-2' });
});

test('without --to the healthiest candidate wins: least lag, then the lowest member number', () => {
  const s = snapshot([replica('pg-1', { lag: 4096 }), replica('pg-2', { lag: 0 }), replica('pg-3', { lag: 0 }), replica('pg-4', { readOnly: true })]);
  assert.deepEqual(chooseCandidate(s), { kind: 'switch', from: 'pg-0', candidate: 'pg-2' });
  const tie = snapshot([replica('pg-10'), replica('pg-9')]);
  assert.equal((chooseCandidate(tie) as { candidate: string }).candidate, 'pg-9');
});

test('refusals: unknown, nofailover, lagging, not running, not streaming, no leader, paused, already scheduled', () => {
  const s = snapshot([
    replica('pg-1', { lag: 5 * MiB }), replica('pg-2', { readOnly: true }), replica('pg-3', { state: 'starting' }),
    replica('pg-4', { streaming: false }), replica('pg-5', { containerRunning: false }),
  ]);
  const reason = (to?: string, x: SwitchoverSnapshot = s): string => {
    const d = chooseCandidate(x, to);
    assert.equal(d.kind, 'refuse', `${to}: ${JSON.stringify(d)}`);
    return (d as { reason: string }).reason;
  };
  assert.match(reason('pg-9'), /^no member pg-9 in orders \(members: pg-0, pg-1, pg-2, pg-3, pg-4, pg-5\)$/);
  assert.match(reason('pg-2'), /pg-2 is read-only \(nofailover\)/);
  assert.match(reason('pg-1'), /pg-1 lags 5\.0 MiB behind the leader \(more than 1\.0 MiB\)/);
  assert.match(reason('pg-3'), /pg-3 is not running \(Patroni state: starting\)/);
  assert.match(reason('pg-4'), /pg-4 is not streaming/);
  assert.match(reason('pg-5'), /pg-5 is not running \(container stopped\)/);
  const none = reason();
  assert.match(none, /^no member of orders can take over from pg-0: /);
  for (const m of ['pg-1 lags', 'pg-2 is read-only', 'pg-3 is not running', 'pg-4 is not streaming']) assert.ok(none.includes(m), none);
  assert.equal(none.split('\n').length, 1, 'one line');
  assert.match(reason(undefined, snapshot([], {})), /no member of orders can take over from pg-0: it has no other members/);
  assert.match(reason('pg-1', snapshot([replica('pg-1')], { leader: null })), /orders has no leader/);
  assert.match(reason(undefined, snapshot([replica('pg-1')], { paused: true })), /paused/);
  const scheduled = snapshot([replica('pg-1')], { pending: { leader: 'pg-0', candidate: 'pg-1', scheduledAt: '2030-01-01T00:00:00+00:00' } });
  assert.match(reason('pg-1', scheduled), /already scheduled in Patroni at 2030-01-01T00:00:00\+00:00 \(pg-0 → pg-1\), not by dbaas; remove it first/);
});

test('synchronous mode: only the sync standby may take over', () => {
  const s = snapshot([replica('pg-1'), replica('pg-2', { role: 'sync_standby' })], { syncMode: true });
  assert.deepEqual(chooseCandidate(s), { kind: 'switch', from: 'pg-0', candidate: 'pg-2' });
  assert.match((chooseCandidate(s, 'pg-1') as { reason: string }).reason, /not the sync standby \(pg-2\)/);
});

test('--to the current leader is already done, not a refusal', () => {
  assert.deepEqual(chooseCandidate(snapshot([replica('pg-1')]), 'pg-0'), { kind: 'already', leader: 'pg-0' });
});

test('a retried request step never issues a second switchover', () => {
  const req = { from: 'pg-0', to: 'pg-1', timelineBefore: 3 };
  const dcs = (x: Partial<DcsState>): DcsState => ({ leader: 'pg-0', timeline: 3, failover: null, ...x });
  assert.deepEqual(issueDecision(dcs({}), req), { kind: 'issue' });
  assert.deepEqual(issueDecision(dcs({ failover: { leader: 'pg-0', candidate: 'pg-1' } }), req), { kind: 'pending' }, 'first attempt wrote the key');
  assert.deepEqual(issueDecision(dcs({ leader: null, failover: { leader: 'pg-0', candidate: 'pg-1' } }), req), { kind: 'pending' }, 'old leader demoting');
  assert.deepEqual(issueDecision(dcs({ leader: 'pg-1', timeline: 4 }), req), { kind: 'switched', leader: 'pg-1' });
  assert.equal(issueDecision(dcs({ leader: 'pg-0', timeline: 5 }), req).kind, 'switched', 'switched away and back: timeline advanced');
  assert.equal(issueDecision(dcs({ failover: { leader: 'pg-0', candidate: 'pg-2' } }), req).kind, 'conflict');
  assert.equal(issueDecision(dcs({ leader: null }), req).kind, 'no-leader');
  // dbaas never schedules in Patroni: a scheduled key, even for the same members, was put there by hand.
  assert.equal(issueDecision(dcs({ failover: { leader: 'pg-0', candidate: 'pg-1', scheduledAt: '2030-01-01T00:00:00+00:00' } }), req).kind, 'conflict');
});

test('the DCS view: Patroni clears /failover by writing {}, the leader timeline comes from its member key', () => {
  assert.equal(parseFailoverKey('{}'), null);
  assert.equal(parseFailoverKey(''), null);
  assert.deepEqual(parseFailoverKey('{"leader":"pg-0","member":"pg-1","scheduled_at":"2030-01-01T00:00:00+00:00"}'), {
    leader: 'pg-0', candidate: 'pg-1', scheduledAt: '2030-01-01T00:00:00+00:00',
  });
  const p = '/dbaas/orders/';
  const v = dcsViewFromKeys('orders', new Map([
    [`${p}leader`, 'pg-1'],
    [`${p}failover`, '{}'],
    [`${p}config`, '{"ttl":30,"loop_wait":10,"maximum_lag_on_failover":1048576,"synchronous_mode":false}'],
    [`${p}members/pg-0`, '{"role":"replica","state":"running","timeline":4,"tags":{"nofailover":true}}'],
    [`${p}members/pg-1`, '{"role":"master","state":"running","timeline":4}'],
  ]));
  assert.equal(v.leader, 'pg-1');
  assert.equal(v.timeline, 4);
  assert.equal(v.failover, null);
  assert.equal(v.config.loopWait, 10);
  assert.equal(v.members['pg-0'].tags?.nofailover, true);
});

test('--at: ISO 8601 with an offset, in the future; normalized to UTC', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  assert.equal(parseSwitchoverTime('2030-01-01T02:00:00+01:00', now), '2030-01-01T01:00:00.000Z');
  assert.equal(parseSwitchoverTime('2030-01-01T00:05Z', now), '2030-01-01T00:05:00.000Z');
  assert.throws(() => parseSwitchoverTime('2030-01-01T00:05:00', now), /UTC offset/);
  assert.throws(() => parseSwitchoverTime('tomorrow', now), /ISO 8601/);
  assert.throws(() => parseSwitchoverTime('2029-12-31T23:59:59Z', now), /in the past/);
});

test('workflow id per starting timeline; requests compare by target and time', () => {
  assert.equal(switchoverWorkflowId('orders', 3), 'switchover:orders:tl3');
  assert.ok(sameRequest({ to: null, at: null }, undefined, undefined));
  assert.ok(sameRequest({ to: 'pg-1', at: '2030-01-01T00:00:00.000Z' }, 'pg-1', '2030-01-01T00:00:00.000Z'));
  assert.ok(!sameRequest({ to: 'pg-1', at: null }, 'pg-2', undefined));
  assert.ok(!sameRequest({ to: 'pg-1', at: null }, 'pg-1', '2030-01-01T00:00:00.000Z'));
});
