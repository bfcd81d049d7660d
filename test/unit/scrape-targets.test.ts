/** publishScrapeTargets / removeScrapeTargets on stub hosts and a temp home: the file Prometheus reads. No Docker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { memberFromRow, type Member } from '../../common/inventory';
import { resolvePaths } from '../../common/paths';
import { Inventory } from '../../activities/hosts/inventory';
import { LocalEngine } from '../../activities/hosts/local-engine';
import type { Host } from '../../activities/hosts/host';
import { createScrapeTargetActivities } from '../../activities/scrape-targets';
import { NOT_RUNNING_ADDRESS, type ScrapeTargetGroup } from '../../activities/scrape-target-groups';

/** A member as the local engine lists it: on the cluster network at `ip` while it runs. */
function listed(host: string, name: string, role: string, ip: string, state = 'running'): Member {
  return memberFromRow({
    Names: [`/dbaas-orders-${name}`],
    Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': role, 'dbaas.member': name },
    State: state,
    Created: 0,
    NetworkSettings: { Networks: { 'dbaas-orders': { IPAddress: ip } } },
  }, host, 'dbaas-orders')!;
}

/** Hosts whose member lists the test changes; a host in `lost` does not answer. */
function world() {
  const members = new Map<string, Member[]>();
  const lost = new Set<string>();
  const host = (name: string): Host => Object.assign(new LocalEngine(name, {} as Docker), {
    containers: async () => {
      if (lost.has(name)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return { members: members.get(name) ?? [], helpers: [] };
    },
  });
  return { members, lost, inventory: new Inventory([host('local'), host('h1')]) };
}

function setup() {
  const paths = resolvePaths({ DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-targets-')) });
  const w = world();
  const file = path.join(paths.scrapeTargets, 'orders.json');
  const read = (): ScrapeTargetGroup[] => JSON.parse(fs.readFileSync(file, 'utf8'));
  const summary = (): string[] => read().map((g) => `${g.labels.component} ${g.labels.member}@${g.labels.host} ${g.targets[0]}`);
  return { paths, ...w, file, read, summary, done: () => fs.rmSync(paths.home, { recursive: true, force: true }) };
}

test('the file names Patroni of every member and HAProxy, at the addresses the worker uses; a stopped member stays, down', async () => {
  const s = setup();
  try {
    const act = createScrapeTargetActivities(s.inventory, s.paths);
    s.members.set('local', [
      listed('local', 'pg-0', 'postgres', '172.20.0.2'), listed('local', 'pg-1', 'postgres', '172.20.0.3', 'exited'),
      listed('local', 'haproxy', 'haproxy', '172.20.0.5'), listed('local', 'etcd-0', 'etcd', '172.20.0.6'),
    ]);
    assert.deepEqual(await act.publishScrapeTargets('orders'), { targets: 3, changed: true });
    assert.deepEqual(s.summary(), ['patroni pg-0@local 172.20.0.2:8008', `patroni pg-1@local ${NOT_RUNNING_ADDRESS}`, 'haproxy haproxy@local 172.20.0.5:7000']);
    assert.deepEqual(s.read()[0].labels, { cluster: 'orders', member: 'pg-0', host: 'local', component: 'patroni', instance: 'orders/pg-0@local' });
    const before = fs.statSync(s.file).mtimeMs;
    assert.deepEqual(await act.publishScrapeTargets('orders'), { targets: 3, changed: false }, 'idempotent');
    assert.equal(fs.statSync(s.file).mtimeMs, before, 'an unchanged file is not rewritten');
    assert.deepEqual(fs.readdirSync(s.paths.scrapeTargets), ['orders.json'], 'no temp file left');
    await act.removeScrapeTargets('orders');
    await act.removeScrapeTargets('orders');
    assert.ok(!fs.existsSync(s.file));
  } finally {
    s.done();
  }
});

test('a new replica and the exporters are added; members of a host that does not answer keep their targets', async () => {
  const s = setup();
  try {
    const act = createScrapeTargetActivities(s.inventory, s.paths, async (cluster, members) => members
      .filter((m) => m.kind === 'postgres')
      .map((m) => ({ component: 'postgres' as const, member: m.name, host: m.host, address: `172.20.0.9:${9187 + Number(m.name.slice(3))}` })));
    s.members.set('local', [listed('local', 'pg-0', 'postgres', '172.20.0.2')]);
    s.members.set('h1', [listed('h1', 'pg-1', 'postgres', '172.21.0.3')]);
    await act.publishScrapeTargets('orders');
    s.members.set('local', [listed('local', 'pg-0', 'postgres', '172.20.0.2'), listed('local', 'pg-2', 'postgres', '172.20.0.4')]);
    assert.equal((await act.publishScrapeTargets('orders')).changed, true);
    assert.deepEqual(s.summary(), [
      'patroni pg-1@h1 172.21.0.3:8008', 'patroni pg-0@local 172.20.0.2:8008', 'patroni pg-2@local 172.20.0.4:8008',
      'postgres pg-1@h1 172.20.0.9:9188', 'postgres pg-0@local 172.20.0.9:9187', 'postgres pg-2@local 172.20.0.9:9189',
    ]);
    s.lost.add('h1');
    await act.publishScrapeTargets('orders');
    assert.deepEqual(s.summary(), [
      'patroni pg-0@local 172.20.0.2:8008', 'patroni pg-2@local 172.20.0.4:8008', 'postgres pg-0@local 172.20.0.9:9187', 'postgres pg-2@local 172.20.0.9:9189',
      'patroni pg-1@h1 172.21.0.3:8008', 'postgres pg-1@h1 172.20.0.9:9188',
    ], "h1's targets kept as they were");
  } finally {
    s.done();
  }
});

test('a cluster name that is not a plain file name is refused', async () => {
  const s = setup();
  try {
    await assert.rejects(createScrapeTargetActivities(s.inventory, s.paths).publishScrapeTargets('../x'), /refused path/);
  } finally {
    s.done();
  }
});
