import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextEtcdNames, nextMemberNames, readOnlyToRemove, removalProblem, type MemberView } from '../../common/members';
import { serverRows } from '../../activities/haproxy';

const m = (name: string, role: string, readOnly = false): MemberView => ({ name, role, readOnly });

test('next member names continue after the highest index in use, containers or volumes', () => {
  assert.deepEqual(nextMemberNames(['pg-0', 'pg-1', 'pg-2'], 2), ['pg-3', 'pg-4']);
  assert.deepEqual(nextMemberNames(['pg-0', 'pg-7', 'pg-2'], 1), ['pg-8']);
  assert.deepEqual(nextMemberNames(['pg-10', 'pg-9'], 1), ['pg-11']);
  assert.deepEqual(nextMemberNames([], 1), ['pg-0']);
});

test('an etcd member moved off a host gets the next etcd name; the two kinds of names never mix', () => {
  const inUse = ['pg-0', 'pg-5', 'etcd-0', 'etcd-1', 'etcd-2', 'haproxy'];
  assert.deepEqual(nextEtcdNames(inUse, 1), ['etcd-3']);
  assert.deepEqual(nextMemberNames(inUse, 1), ['pg-6']);
});

test('removal is refused for an unknown member, the leader, and the last member able to take over', () => {
  const cluster = [m('pg-0', 'leader'), m('pg-1', 'replica'), m('pg-2', 'replica', true)];
  assert.match(removalProblem(cluster, 'pg-9') ?? '', /no member pg-9/);
  assert.match(removalProblem(cluster, 'pg-0') ?? '', /is the leader/);
  assert.match(removalProblem(cluster, 'pg-1') ?? '', /last member able to take over/);
  assert.equal(removalProblem(cluster, 'pg-2'), undefined, 'a read-only member can always go');
  const two = [...cluster, m('pg-3', 'sync_standby')];
  assert.equal(removalProblem(two, 'pg-1'), undefined, 'another failover candidate remains');
});

test('scaling read-only members down removes the newest first', () => {
  const cluster = [m('pg-0', 'leader'), m('pg-1', 'replica'), m('pg-2', 'replica', true), m('pg-5', 'replica', true), m('pg-3', 'replica', true)];
  assert.deepEqual(readOnlyToRemove(cluster, 1), ['pg-5', 'pg-3']);
  assert.deepEqual(readOnlyToRemove(cluster, 3), []);
  assert.deepEqual(readOnlyToRemove(cluster, 0), ['pg-5', 'pg-3', 'pg-2']);
});

test('HAProxy stats rows carry status and current sessions per server', () => {
  const csv = ['# pxname,svname,qcur,qmax,scur,smax,status', 'ro,FRONTEND,,,3,5,OPEN', 'ro,pg-1,0,0,2,4,UP', 'ro,pg-3,0,0,1,1,DRAIN', 'ro,BACKEND,0,0,3,5,UP'].join('\n');
  assert.deepEqual(serverRows(csv), [
    { proxy: 'ro', server: 'pg-1', status: 'UP', sessions: 2 },
    { proxy: 'ro', server: 'pg-3', status: 'DRAIN', sessions: 1 },
  ]);
});
