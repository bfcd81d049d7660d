/** The inventory over several hosts: members merged in one order, endpoints per host kind. No Docker: hosts are stubs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { memberFromRow, type ContainerRow, type Member } from '../../common/inventory';
import { Inventory } from '../../activities/hosts/inventory';
import { LocalEngine } from '../../activities/hosts/local-engine';
import type { Host } from '../../activities/hosts/host';

const row = (member: string, o: Partial<ContainerRow> = {}): ContainerRow => ({
  Names: [`/dbaas-orders-${member}`],
  Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'postgres', 'dbaas.member': member },
  State: 'running',
  Created: 0,
  NetworkSettings: { Networks: { 'dbaas-orders': { IPAddress: '10.78.1.7' } } },
  ...o,
});
const member = (host: string, name: string, o: Partial<ContainerRow> = {}): Member => memberFromRow(row(name, o), host, 'dbaas-orders')!;

/** A host whose engine lists the given members (everything else unused here). */
function stubHost(name: string, members: Member[], address?: string): Host {
  const engine = new LocalEngine(name, {} as Docker, address);
  return Object.assign(engine, { containers: async () => ({ members, helpers: [] }) });
}

test('members of a cluster on three hosts come back merged, in member order, each with its host', async () => {
  const inv = new Inventory([
    stubHost('h1', [member('h1', 'pg-10')]),
    stubHost('h2', [member('h2', 'pg-2'), member('h2', 'pg-1', { State: 'exited' })]),
    stubHost('h3', [member('h3', 'pg-0')]),
  ]);
  assert.deepEqual((await inv.members('orders')).map((m) => [m.name, m.host]), [['pg-0', 'h3'], ['pg-1', 'h2'], ['pg-2', 'h2'], ['pg-10', 'h1']]);
  assert.deepEqual(await inv.memberNames('orders', { running: true }), ['pg-0', 'pg-2', 'pg-10']);
  assert.equal(inv.own, 'h1', "a worker's own host is its first");
});

test('on an added host the endpoint is the port published on its address; on this machine, the IP on the cluster network', async () => {
  const published = { Ports: [{ IP: '10.77.0.12', PrivatePort: 8008, PublicPort: 49153 }, { IP: '127.0.0.1', PrivatePort: 5432, PublicPort: 15435 }] };
  const inv = new Inventory([stubHost('local', [member('local', 'pg-0')]), stubHost('h2', [member('h2', 'pg-1', published)], '10.77.0.12')]);
  assert.deepEqual(await inv.endpointOf('orders', 'pg-0', 8008), { host: '10.78.1.7', port: 8008 });
  assert.deepEqual(await inv.endpointOf('orders', 'pg-1', 8008), { host: '10.77.0.12', port: 49153 });
  assert.equal(await inv.endpointOf('orders', 'pg-1', 5432), undefined, 'a port published on another address is not reachable from here');
  const stopped = new Inventory([stubHost('local', [member('local', 'pg-0', { State: 'exited' })])]);
  assert.equal(await stopped.endpointOf('orders', 'pg-0', 8008), undefined);
  assert.throws(() => inv.host('h9'), /host h9 is not known to this worker/);
});

test('a host whose engine does not answer is left out and named; this machine\'s engine not answering fails the read', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED /var/lib/dbaas-sim/h2/docker.sock'), { code: 'ECONNREFUSED' });
  const lost = (name: string): Host => Object.assign(new LocalEngine(name, {} as Docker, '10.77.0.12'), { containers: async () => { throw refused; } });
  const inv = new Inventory([stubHost('local', []), stubHost('h1', [member('h1', 'pg-0')], '10.77.0.11'), lost('h2')]);
  assert.deepEqual(await inv.membersAndUnreachable('orders'), { members: [member('h1', 'pg-0')], unreachable: ['h2'] });
  assert.deepEqual(await inv.memberNames('orders'), ['pg-0']);
  await assert.rejects(new Inventory([lost('local')]).members('orders'), /ECONNREFUSED/);
  // Any other failure is not a lost host: it fails the read.
  const broken = Object.assign(new LocalEngine('h3', {} as Docker), { containers: async () => { throw new Error('(HTTP code 500) server error'); } });
  await assert.rejects(new Inventory([stubHost('local', []), broken]).members('orders'), /server error/);
});

test('the front doors: every running HAProxy\'s host address, in member order; 127.0.0.1 on this machine', async () => {
  const haproxy = (host: string, state = 'running'): Member => ({ ...member(host, 'haproxy', { State: state }), kind: 'haproxy' });
  const inv = new Inventory([stubHost('local', []), stubHost('h1', [haproxy('h1')], '10.77.0.11'), stubHost('h2', [haproxy('h2', 'exited')], '10.77.0.12'), stubHost('h3', [haproxy('h3')], '10.77.0.13')]);
  assert.deepEqual(await inv.frontDoors('orders'), ['10.77.0.11', '10.77.0.13']);
  assert.deepEqual(await inv.frontDoorAt('orders', 15448), { host: '10.77.0.11', port: 15448 });
  assert.deepEqual(await new Inventory([stubHost('local', [haproxy('local')])]).frontDoors('orders'), ['127.0.0.1']);
});
