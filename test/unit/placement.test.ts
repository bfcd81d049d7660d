/** Placement: one member of each kind per host (and per zone with --zone-spread), refusals, the host for one more replica. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickHostForMember, placeCluster, spreadOrder, type PlacementHost } from '../../common/placement';

const H = (name: string, load = 0, zone?: string): PlacementHost => ({ name, load, ...(zone ? { zone } : {}) });
const req = (postgres: number, etcd: number, o: { zoneSpread?: boolean; allowColocate?: boolean } = {}) => ({
  postgres: Array.from({ length: postgres }, (_, i) => `pg-${i}`),
  etcd: Array.from({ length: etcd }, (_, i) => `etcd-${i}`),
  zoneSpread: o.zoneSpread ?? false,
  allowColocate: o.allowColocate ?? false,
});

test('three hosts, three members and three etcd: one of each per host', () => {
  const p = placeCluster(req(3, 3), [H('h1'), H('h2'), H('h3')]);
  assert.ok(!('problem' in p));
  assert.deepEqual(new Set(Object.values(p.postgres)), new Set(['h1', 'h2', 'h3']));
  assert.deepEqual(new Set(Object.values(p.etcd)), new Set(['h1', 'h2', 'h3']));
  assert.equal(p.colocated, false);
});

test('one host takes everything, as dbaas always did', () => {
  const p = placeCluster(req(3, 1), [H('local')]);
  assert.ok(!('problem' in p));
  assert.deepEqual(Object.values(p.postgres), ['local', 'local', 'local']);
  assert.equal(p.colocated, false);
});

test('two hosts for three members: refused with the reason and the ways out, or colocated when allowed', () => {
  const refused = placeCluster(req(3, 1), [H('h1'), H('h2')]);
  assert.ok('problem' in refused);
  assert.match(refused.problem, /need 3 hosts.*2 are available \(h1, h2\).*--allow-colocate/);
  const p = placeCluster(req(3, 1, { allowColocate: true }), [H('h1'), H('h2')]);
  assert.ok(!('problem' in p));
  assert.equal(p.colocated, true);
  assert.deepEqual(Object.values(p.postgres).sort(), ['h1', 'h1', 'h2']);
});

test('the least loaded hosts first', () => {
  const p = placeCluster(req(2, 1), [H('busy', 9), H('idle', 0), H('some', 3)]);
  assert.ok(!('problem' in p));
  assert.deepEqual(p.postgres, { 'pg-0': 'idle', 'pg-1': 'some' });
  assert.deepEqual(p.etcd, { 'etcd-0': 'idle' });
});

test('--zone-spread: one host per zone in turn; too few zones refused', () => {
  const hosts = [H('a1', 0, 'a'), H('a2', 0, 'a'), H('b1', 1, 'b'), H('c1', 2, 'c')];
  assert.deepEqual(spreadOrder(hosts, true).map((h) => h.name), ['a1', 'b1', 'c1', 'a2']);
  const p = placeCluster(req(3, 3, { zoneSpread: true }), hosts);
  assert.ok(!('problem' in p));
  assert.deepEqual(Object.values(p.postgres), ['a1', 'b1', 'c1']);
  const refused = placeCluster(req(3, 3, { zoneSpread: true }), [H('a1', 0, 'a'), H('a2', 0, 'a'), H('b1', 0, 'b')]);
  assert.ok('problem' in refused);
  assert.match(refused.problem, /need 3 zones, and the hosts have 2 \(a, b\)/);
});

test('one more replica goes to the host with the fewest members of the cluster, never to an excluded one', () => {
  const hosts = [H('h1', 5), H('h2', 1), H('h3', 0)];
  assert.equal(pickHostForMember(['h1', 'h2', 'h3'], hosts), 'h3');
  assert.equal(pickHostForMember(['h1', 'h3'], hosts), 'h2');
  assert.equal(pickHostForMember(['h1', 'h2', 'h3'], hosts, { exclude: ['h3'] }), 'h2');
  assert.equal(pickHostForMember([], [], {}), undefined);
});
