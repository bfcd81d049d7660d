import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notServingProblem } from '../../common/serving-check';
import { silentMembersProblem } from '../../activities/upgrade/silent-members';
import type { ClusterMember } from '../../activities/patroni-api';

const next = { generation: 2, members: ['pg-3', 'pg-4'] };

test('finish: generation 2 serves when the record names it, HAProxy\'s one rw server is its member, and that member takes writes', () => {
  assert.equal(notServingProblem({ generation: 2, rw: [{ member: 'pg-4', takesWrites: true }] }, next), null);
  assert.equal(notServingProblem({ generation: 1, rw: [{ member: 'pg-3', takesWrites: true }] }, next), 'the serving record names generation 1');
  assert.match(notServingProblem({ generation: 2, rw: [{ member: 'pg-0', takesWrites: true }] }, next) ?? '', /HAProxy's rw has \[pg-0\] UP, not one of generation 2's members \(pg-3, pg-4\)/);
  assert.match(notServingProblem({ generation: 2, rw: [] }, next) ?? '', /HAProxy's rw has \[\] UP/);
  assert.match(notServingProblem({ generation: 2, rw: [{ member: 'pg-3', takesWrites: true }, { member: 'pg-4', takesWrites: true }] }, next) ?? '', /\[pg-3, pg-4\] UP/);
  assert.match(notServingProblem({ generation: 2, rw: [{ member: 'pg-3', takesWrites: false }] }, next) ?? '', /pg-3 \(HAProxy's rw\) does not take writes/);
  assert.match(notServingProblem({ generation: 2, rw: [{ member: 'pg-3', takesWrites: null }] }, next) ?? '', /pg-3 \(HAProxy's rw\) did not answer/);
});

const member = (name: string, role: ClusterMember['role']): ClusterMember => ({ name, role, state: 'running' });

test('stopWrites: a member that did not answer counts as stopped unless Patroni says it leads, or no Patroni answered', () => {
  assert.equal(silentMembersProblem('orders', ['pg-2'], [member('pg-0', 'leader'), member('pg-1', 'replica'), member('pg-2', 'replica')]), null);
  assert.match(silentMembersProblem('orders', ['pg-1'], [member('pg-0', 'replica'), member('pg-1', 'leader')]) ?? '', /^pg-1 of orders leads by Patroni's view but its PostgreSQL did not answer/);
  assert.match(silentMembersProblem('orders', ['pg-1', 'pg-2'], undefined) ?? '', /^pg-1, pg-2 of orders did not answer, and no member's Patroni could tell/);
});
