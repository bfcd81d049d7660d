/** Generations of a cluster's PostgreSQL members: labels, Patroni scope, which members a read returns, the serving record. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type Docker from 'dockerode';
import { generationLabels, generationOfLabels, patroniScope } from '../../common/generations';
import { memberFromRow, type ContainerRow, type Member } from '../../common/inventory';
import { Inventory } from '../../activities/hosts/inventory';
import { LocalEngine } from '../../activities/hosts/local-engine';
import { forgetGenerations, recordedVolumeGenerations, servingGeneration, writeServingGeneration, writeVolumeGenerations } from '../../activities/generations-file';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths } from '../../common/paths';

const tempPaths = () => resolvePaths({ ...process.env, DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-generations-')) });

const row = (member: string, role: string, labels: Record<string, string> = {}): ContainerRow => ({
  Names: [`/dbaas-orders-${member}`],
  Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': role, 'dbaas.member': member, ...labels },
  State: 'running',
  Created: 0,
});
const member = (name: string, role: string, generation?: number): Member => memberFromRow(row(name, role, generation ? generationLabels(generation) : {}), 'local', 'dbaas-orders')!;

const members = [member('etcd-0', 'etcd'), member('haproxy', 'haproxy'), member('pg-0', 'postgres'), member('pg-1', 'postgres'), member('pg-2', 'postgres', 2), member('pg-3', 'postgres', 2)];
const inventory = (serving: number): Inventory =>
  new Inventory([Object.assign(new LocalEngine('local', {} as Docker), { containers: async () => ({ members, helpers: [] }) })], () => serving);

test('a member without the label is generation 1; the first generation carries no label and keeps the cluster name as its scope', () => {
  assert.equal(generationOfLabels({}), 1);
  assert.equal(generationOfLabels({ 'dbaas.generation': '2' }), 2);
  assert.equal(generationOfLabels({ 'dbaas.generation': 'x' }), 1);
  assert.deepEqual(generationLabels(1), {});
  assert.deepEqual(generationLabels(3), { 'dbaas.generation': '3' });
  assert.equal(patroniScope('orders', 1), 'orders');
  assert.equal(patroniScope('orders', 2), 'orders-g2');
});

test('a read returns the serving generation\'s PostgreSQL members and the cluster\'s own (etcd, HAProxy) unless it asks for another', async () => {
  const names = async (inv: Inventory, f = {}) => (await inv.memberNames('orders', f)).join(' ');
  assert.equal(await names(inventory(1)), 'etcd-0 haproxy pg-0 pg-1');
  assert.equal(await names(inventory(2)), 'etcd-0 haproxy pg-2 pg-3');
  assert.equal(await names(inventory(1), { kind: 'postgres', generation: 2 }), 'pg-2 pg-3');
  assert.equal(await names(inventory(1), { kind: 'postgres', generation: 'all' }), 'pg-0 pg-1 pg-2 pg-3');
});

test('the serving record: generation 1 without one, the recorded one after a cutover, gone again when 1 serves', () => {
  const paths = tempPaths();
  try {
    assert.equal(servingGeneration(paths, 'orders'), 1);
    writeServingGeneration(paths, 'orders', 2);
    assert.equal(servingGeneration(paths, 'orders'), 2);
    assert.equal(servingGeneration(paths, 'other'), 1);
    assert.equal(servingGeneration(paths, '../x'), 1, 'a name no cluster has reads as no record');
    writeServingGeneration(paths, 'orders', 1);
    assert.equal(servingGeneration(paths, 'orders'), 1);
    assert.deepEqual(fs.readdirSync(`${paths.home}/generations`), []);
  } finally {
    fs.rmSync(paths.home, { recursive: true, force: true });
  }
});

test('the record keeps unlabelled volumes\' generations across serving changes; it goes only with them, or with the cluster', () => {
  const paths = tempPaths();
  const files = () => fs.readdirSync(`${paths.home}/generations`);
  try {
    assert.deepEqual(recordedVolumeGenerations(paths, 'orders'), {});
    writeVolumeGenerations(paths, 'orders', { 'pg-2': 2 });
    assert.equal(servingGeneration(paths, 'orders'), 1, 'generation 1 still serves');
    writeServingGeneration(paths, 'orders', 2);
    writeServingGeneration(paths, 'orders', 1);
    assert.deepEqual(recordedVolumeGenerations(paths, 'orders'), { 'pg-2': 2 }, 'a rollback keeps what it says of the volumes');
    assert.deepEqual(files(), ['orders.json']);
    writeVolumeGenerations(paths, 'orders', {});
    assert.deepEqual(files(), [], 'generation 1 serving and nothing else to say: no record');
    writeServingGeneration(paths, 'orders', 2);
    writeVolumeGenerations(paths, 'orders', { 'pg-2': 2 });
    forgetGenerations(paths, 'orders');
    assert.equal(servingGeneration(paths, 'orders'), 1);
    assert.deepEqual(recordedVolumeGenerations(paths, 'orders'), {});
  } finally {
    fs.rmSync(paths.home, { recursive: true, force: true });
  }
});
