/** Placement: one member of each kind per host (and per zone with --zone-spread), refusals, the host for one more replica. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutCluster, pickHostForMember, placeCluster, spreadOrder, type HostOffer, type LayoutRequest, type PlacementHost } from '../../common/placement';

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

const offer = (name: string, o: Partial<HostOffer> = {}): HostOffer => ({ name, load: 0, swarmManager: false, address: `10.77.0.${10 + Number(name.slice(1))}`, ...o });
const layoutReq = (o: Partial<LayoutRequest> = {}): LayoutRequest => ({ postgres: ['pg-0', 'pg-1', 'pg-2'], etcd: ['etcd-0', 'etcd-1', 'etcd-2'], backups: null, restore: false, keptData: false, ...o });

test('a cluster across three hosts: a front door on each Postgres host, the overlay on the swarm manager', () => {
  const l = layoutCluster(layoutReq(), [offer('h1', { swarmManager: true }), offer('h2'), offer('h3')]);
  assert.ok(!('problem' in l));
  assert.deepEqual(l.postgres, { 'pg-0': 'h1', 'pg-1': 'h2', 'pg-2': 'h3' });
  assert.deepEqual(l.frontDoors, ['h1', 'h2', 'h3']);
  assert.deepEqual(l.addresses, { h1: '10.77.0.11', h2: '10.77.0.12', h3: '10.77.0.13' });
  assert.equal(l.overlayOn, 'h1');
});

test('this machine alone: everything on local, a bridge network, no address', () => {
  const l = layoutCluster(layoutReq({ backups: 'host', keptData: true, restore: true }), [{ name: 'local', load: 4, swarmManager: false }]);
  assert.deepEqual(l, { postgres: { 'pg-0': 'local', 'pg-1': 'local', 'pg-2': 'local' }, etcd: { 'etcd-0': 'local', 'etcd-1': 'local', 'etcd-2': 'local' }, frontDoors: ['local'], addresses: {} });
});

test('on added hosts: backups anywhere but S3, kept data, a restore and a swarm without a manager are refused with the reason', () => {
  const hosts = [offer('h1', { swarmManager: true }), offer('h2'), offer('h3')];
  const problem = (o: Partial<LayoutRequest>, hs = hosts): string => {
    const l = layoutCluster(layoutReq(o), hs);
    return 'problem' in l ? l.problem : '';
  };
  assert.match(problem({ backups: 'host' }), /backups of a cluster on added hosts go to S3 .* or are off \(--no-backups\): the repository host runs on this machine only/);
  assert.match(problem({ backups: 'volume' }), /a volume is on one host only/);
  assert.equal(problem({ backups: 's3' }), '');
  assert.match(problem({ keptData: true }), /data kept by `delete --keep-data` is not reused on added hosts yet/);
  assert.match(problem({ restore: true }), /a restore onto added hosts is not built yet/);
  assert.match(problem({}, [offer('h1'), offer('h2'), offer('h3')]), /no host offered is a swarm manager \(h1, h2, h3\)/);
});
