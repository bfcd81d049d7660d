/** What a delete keeps, and what a create or restore of the same name makes of it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { Inventory } from '../../activities/hosts/inventory';
import { LocalEngine } from '../../activities/hosts/local-engine';
import { clusterVolumes } from '../../activities/cluster';
import { writeServingGeneration } from '../../activities/generations-file';
import { resolvePaths } from '../../common/paths';
import type { HostVolume } from '../../common/inventory';
import {
  intoHasKeptVolumes, isLive, keptAfterDelete, keptDataGeneration, keptDataProblem, keptDataVersion, membersOnKeptData, type KeptVolume,
} from '../../common/kept-data';

const repo: KeptVolume = { name: 'dbaas-orders-backup-repo', role: 'backup', member: 'repository' };
const pg0: KeptVolume = { name: 'dbaas-orders-pg-0-data', role: 'postgres', member: 'pg-0' };
const etcd0: KeptVolume = { name: 'dbaas-orders-etcd-0-data', role: 'etcd', member: 'etcd-0' };
const spec = { name: 'orders', etcdMembers: 1 as const };

test('a cluster with containers or a network is live, whatever volumes it has', () => {
  assert.equal(isLive({ containers: 1, networks: 0 }), true);
  assert.equal(isLive({ containers: 0, networks: 1 }), true);
  assert.equal(isLive({ containers: 0, networks: 0 }), false);
  assert.deepEqual(keptAfterDelete({ name: 'orders', containers: 3, networks: 1, volumes: [repo, pg0] }), { data: false, backups: false });
});

test('a deleted cluster keeps backups, data, or both', () => {
  const deleted = (volumes: KeptVolume[]) => keptAfterDelete({ name: 'orders', containers: 0, networks: 0, volumes });
  assert.deepEqual(deleted([repo]), { data: false, backups: true });
  assert.deepEqual(deleted([pg0, etcd0]), { data: true, backups: false });
  assert.deepEqual(deleted([repo, pg0, etcd0]), { data: true, backups: true });
});

test('a create on kept backups alone is refused with how to restore or purge them', () => {
  const problem = keptDataProblem(spec, { volumes: [repo], secrets: false });
  assert.match(problem ?? '', /^cluster orders was deleted and its backups are kept: restore them with `dbaas restore orders --into NEW --latest`, or remove them with `dbaas backup purge orders --yes`/);
});

test('a create on kept data and its repository (the same database) is fine; other kept-data rules hold', () => {
  assert.equal(keptDataProblem(spec, { volumes: [repo, pg0, etcd0], secrets: true }), undefined);
  assert.match(keptDataProblem(spec, { volumes: [pg0, etcd0], secrets: false }) ?? '', /no secrets file/);
  assert.match(keptDataProblem({ name: 'orders', etcdMembers: 3 }, { volumes: [pg0, etcd0], secrets: true }) ?? '', /create it with --etcd 1/);
  assert.equal(keptDataProblem(spec, { volumes: [], secrets: false }), undefined);
});

test('a restore into a name with kept volumes says how to free it', () => {
  assert.match(intoHasKeptVolumes('orders'), /`dbaas cluster delete orders --purge-backups`/);
});

test('a create on kept data runs the major the data is in; asking for another is refused with the way there', () => {
  assert.deepEqual(keptDataVersion('k', 17, undefined), { version: 17 });
  assert.deepEqual(keptDataVersion('k', 15, 15), { version: 15 });
  // Kept before dbaas recorded majors: what --version asks, else 15 (the only major then).
  assert.deepEqual(keptDataVersion('k', undefined, 17), { version: 17 });
  assert.deepEqual(keptDataVersion('k', undefined, undefined), { version: 15 });
  const up = keptDataVersion('k', 15, 17);
  assert.ok('problem' in up);
  assert.match(up.problem, /in PostgreSQL 15: create it with --version 15 and then `dbaas upgrade k --to 17`/);
  const down = keptDataVersion('k', 17, 15);
  assert.ok('problem' in down);
  assert.doesNotMatch(down.problem, /upgrade/);
});

test('a create on kept data names its members after the kept volumes, the lowest first, and new ones after every kept one', () => {
  const pg = (n: number, generation?: number): KeptVolume =>
    ({ name: `dbaas-orders-pg-${n}-data`, role: 'postgres', member: `pg-${n}`, ...(generation ? { generation } : {}) });
  assert.deepEqual(membersOnKeptData(2, [repo]), ['pg-0', 'pg-1', 'pg-2'], 'no kept data: pg-0…');
  assert.deepEqual(membersOnKeptData(2, [etcd0, pg0, pg(1)]), ['pg-0', 'pg-1', 'pg-2'], 'the first generation\'s kept data: as before');
  assert.deepEqual(membersOnKeptData(0, [etcd0, pg0, pg(1)]), ['pg-0']);
  // After a blue/green upgrade's finish the kept data is generation 2's.
  const green = [etcd0, pg(3, 2), pg(2, 2)];
  assert.deepEqual(membersOnKeptData(1, green), ['pg-2', 'pg-3']);
  assert.deepEqual(membersOnKeptData(2, green), ['pg-2', 'pg-3', 'pg-4']);
  assert.deepEqual(membersOnKeptData(0, green), ['pg-2']);
  assert.deepEqual(membersOnKeptData(2, [pg(10), pg(9)]), ['pg-9', 'pg-10', 'pg-11'], 'in member order, not text order');
  assert.deepEqual(membersOnKeptData(2, [pg0, pg(2)]), ['pg-0', 'pg-2', 'pg-3'], 'all kept data used; no name of a kept volume made anew');
  assert.equal(keptDataGeneration(green), 2);
  assert.equal(keptDataGeneration([etcd0, pg0]), 1);
  assert.equal(keptDataGeneration([repo]), 1, 'no kept data: a new cluster\'s first generation');
});

test('the look-up for kept data reports its volumes in the generation the delete kept recorded with them', async () => {
  const paths = resolvePaths({ ...process.env, DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-kept-')) });
  const hostVolumes: HostVolume[] = [{ ...etcd0, cluster: 'orders', host: 'local' }, { name: 'dbaas-orders-pg-2-data', role: 'postgres', member: 'pg-2', cluster: 'orders', host: 'local' }];
  const inv = new Inventory([Object.assign(new LocalEngine('local', {} as Docker), { volumes: async () => hostVolumes })]);
  try {
    assert.deepEqual((await clusterVolumes(inv, paths, 'orders')).map((v) => v.generation), [undefined, undefined], 'no record: the first generation');
    writeServingGeneration(paths, 'orders', 2);
    assert.deepEqual(await clusterVolumes(inv, paths, 'orders'), [etcd0, { name: 'dbaas-orders-pg-2-data', role: 'postgres', member: 'pg-2', generation: 2 }]);
  } finally {
    fs.rmSync(paths.home, { recursive: true, force: true });
  }
});
