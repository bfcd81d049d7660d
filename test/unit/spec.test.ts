import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILES, clusterNameProblem, memberNames, profileProblem, validateSpec, type ClusterSpec } from '../../common/spec';
import { containerName, labels, networkName, volumeName } from '../../common/names';

const ok: ClusterSpec = { name: 'orders', replicas: 2, sync: false, profile: 'default', etcdMembers: 1 };

test('cluster names are DNS labels of 1-30 characters', () => {
  for (const good of ['a', 'orders', 'orders-eu-1', '0db', 'a'.repeat(30)]) assert.equal(clusterNameProblem(good), undefined, good);
  for (const bad of ['', 'a'.repeat(31), 'Orders', 'orders_1', '-orders', 'orders-', 'or ders', 'ördérs', 'a.b']) {
    assert.ok(clusterNameProblem(bad), `expected "${bad}" to be rejected`);
  }
});

test('validateSpec accepts a sane spec and rejects out-of-range input with one line', () => {
  validateSpec(ok);
  validateSpec({ ...ok, replicas: 0 });
  validateSpec({ ...ok, replicas: 8, etcdMembers: 3, profile: 'fast', sync: true });
  const cases: [Partial<ClusterSpec>, RegExp][] = [
    [{ replicas: 9 }, /replicas must be an integer from 0 to 8/],
    [{ replicas: -1 }, /replicas/],
    [{ replicas: 1.5 }, /replicas/],
    [{ etcdMembers: 2 as 1 }, /etcd members must be 1 or 3/],
    [{ profile: 'slow' as 'fast' }, /unknown profile "slow"/],
    [{ name: 'Bad' }, /DNS label/],
    [{ sync: true, replicas: 0 }, /synchronous mode needs at least 1 replica/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(() => validateSpec({ ...ok, ...patch }), (e: Error) => re.test(e.message) && !e.message.includes('\n'));
  }
});

test('every shipped profile satisfies loop_wait + 2 × retry_timeout ≤ ttl', () => {
  for (const p of Object.values(PROFILES)) assert.equal(profileProblem(p.patroni), undefined, p.name);
});

test('profile validation rejects a profile where loop_wait + 2 × retry_timeout > ttl', () => {
  const bad = { ttl: 10, loopWait: 5, retryTimeout: 5, maximumLagOnFailover: 1 };
  assert.match(profileProblem(bad) ?? '', /loop_wait \+ 2 × retry_timeout must be ≤ ttl/);
  assert.equal(profileProblem({ ...bad, ttl: 15 }), undefined);
  assert.match(profileProblem({ ...bad, ttl: 0 }) ?? '', /positive integer/);
});

test('resource names are deterministic and carry the cluster labels', () => {
  assert.deepEqual(memberNames(2), ['pg-0', 'pg-1', 'pg-2']);
  assert.equal(containerName('orders', 'pg-1'), 'dbaas-orders-pg-1');
  assert.equal(volumeName('orders', 'pg-1'), 'dbaas-orders-pg-1-data');
  assert.equal(networkName('orders'), 'dbaas-orders');
  assert.deepEqual(labels('orders', 'postgres', 'pg-1'), { 'dbaas.cluster': 'orders', 'dbaas.role': 'postgres', 'dbaas.member': 'pg-1' });
});
