import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROFILES, clusterNameProblem, isSyncMode, memberNames, profileOfDcs, profileProblem, settingsFromDcs, syncDcsPatch, syncModeOf,
  syncModeOfDcs, timingDcsPatch, validateSpec, type ClusterSettings, type ClusterSpec,
} from '../../common/spec';
import { containerName, networkName, volumeName } from '../../common/resource-names';
import { labels } from '../../common/labels';
import { configHas, dcsSettingsView } from '../../activities/dcs-config';

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
  validateSpec({ ...ok, sync: true, syncStrict: true });
  const cases: [Partial<ClusterSpec>, RegExp][] = [
    [{ replicas: 9 }, /replicas must be an integer from 0 to 8/],
    [{ replicas: -1 }, /replicas/],
    [{ replicas: 1.5 }, /replicas/],
    [{ etcdMembers: 2 as 1 }, /etcd members must be 1 or 3/],
    [{ profile: 'slow' as 'fast' }, /unknown profile "slow"/],
    [{ name: 'Bad' }, /DNS label/],
    [{ sync: true, replicas: 0 }, /synchronous mode needs at least 1 replica/],
    [{ sync: false, syncStrict: true }, /--sync-strict\) needs synchronous mode/],
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

test('profiles are recognised from the DCS timing; anything else is not a profile', () => {
  for (const p of Object.values(PROFILES)) {
    assert.equal(profileOfDcs(timingDcsPatch(p.patroni)), p.name);
  }
  assert.equal(profileOfDcs({ ttl: 30, loop_wait: 10, retry_timeout: 10, synchronous_mode: true }), 'default');
  assert.equal(profileOfDcs({ ttl: 20, loop_wait: 10, retry_timeout: 5 }), undefined);
  assert.equal(profileOfDcs({}), undefined);
  assert.deepEqual(timingDcsPatch(PROFILES.fast.patroni), { ttl: 10, loop_wait: 2, retry_timeout: 4, maximum_lag_on_failover: 1048576 });
});

test('sync modes: off / on / strict map to synchronous_mode and synchronous_mode_strict both ways', () => {
  assert.deepEqual(syncDcsPatch('off'), { synchronous_mode: false, synchronous_mode_strict: false });
  assert.deepEqual(syncDcsPatch('on'), { synchronous_mode: true, synchronous_mode_strict: false });
  assert.deepEqual(syncDcsPatch('strict'), { synchronous_mode: true, synchronous_mode_strict: true });
  for (const m of ['off', 'on', 'strict'] as const) assert.equal(syncModeOfDcs(syncDcsPatch(m)), m);
  // Strict without synchronous_mode is not strict: Patroni ignores it.
  assert.equal(syncModeOfDcs({ synchronous_mode: false, synchronous_mode_strict: true }), 'off');
  assert.equal(syncModeOfDcs({}), 'off');
  assert.equal(syncModeOf({ sync: true }), 'on');
  assert.ok(isSyncMode('strict') && !isSyncMode('yes'));
});

test('current settings come from the DCS; the creation label fills in the rest', () => {
  const created: ClusterSettings = { profile: 'default', sync: false, etcdMembers: 3 };
  const now = settingsFromDcs({ ...timingDcsPatch(PROFILES.fast.patroni), ...syncDcsPatch('strict') }, created);
  assert.deepEqual(now, { profile: 'fast', sync: true, syncStrict: true, etcdMembers: 3 });
  // Hand-set timing matches no profile: keep the created profile's name (HAProxy checks follow it).
  assert.equal(settingsFromDcs({ ttl: 20, loop_wait: 5, retry_timeout: 5 }, created).profile, 'default');
});

test('a DCS config has a patch when every patched key holds that value (compared as Patroni does, as strings)', () => {
  assert.ok(configHas({ ttl: 10, loop_wait: 2, synchronous_mode: true }, { ttl: 10, synchronous_mode: true }));
  assert.ok(!configHas({ ttl: 30 }, { ttl: 10 }));
  assert.ok(!configHas({}, { synchronous_mode: false }));
  assert.deepEqual(dcsSettingsView({ ttl: 20, loop_wait: 5, retry_timeout: 5, synchronous_mode: true }, 'pg-1'),
    { profile: 'custom', sync: 'on', ttl: 20, loopWait: 5, retryTimeout: 5, readFrom: 'pg-1' });
});
