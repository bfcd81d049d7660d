/** The blue/green preflight's refusal (common/logical-replication.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicationBlockersProblem } from '../../common/logical-replication';

test('nothing blocking: no refusal', () => {
  assert.equal(replicationBlockersProblem('orders', [{ database: 'app', noReplicaIdentity: [], unlogged: [], largeObjects: 0 }]), undefined);
});

test('one line per cluster, by database, at most five tables named per kind, and what to do', () => {
  const many = Array.from({ length: 7 }, (_, i) => `t${i}`);
  const p = replicationBlockersProblem('orders', [
    { database: 'app', noReplicaIdentity: many, unlogged: [], largeObjects: 1 },
    { database: 'billing', noReplicaIdentity: [], unlogged: ['s.scratch'], largeObjects: 0 },
  ])!;
  assert.equal(p.split('\n').length, 1);
  assert.match(p, /database app: tables without a primary key or replica identity \(t0, t1, t2, t3, t4 and 2 more\), 1 large object; database billing: unlogged tables \(s\.scratch\)\./);
  assert.match(p, /REPLICA IDENTITY FULL/);
  assert.match(p, /--method in-place/);
});
