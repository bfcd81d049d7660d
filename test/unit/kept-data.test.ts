/** What a delete keeps, and what a create or restore of the same name makes of it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { Inventory } from '../../activities/hosts/inventory';
import { LocalEngine } from '../../activities/hosts/local-engine';
import { clusterVolumes, createClusterActivities } from '../../activities/cluster';
import { ensureVolume } from '../../activities/docker';
import { recordedVolumeGenerations, servingGeneration, writeServingGeneration } from '../../activities/generations-file';
import { resolvePaths } from '../../common/paths';
import { generationLabels } from '../../common/generations';
import { LABEL_GENERATION, labels } from '../../common/labels';
import { memberFromRow, type HostVolume, type Member } from '../../common/inventory';
import {
  intoHasKeptVolumes, isLive, keptAfterDelete, keptDataGeneration, keptDataLeftLines, keptDataProblem, keptDataVersion, keptGenerationsLine,
  keptGenerationToStart, keptNextGenerationProblem, membersOnKeptData, type KeptVolume,
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

const pg = (n: number, generation?: number): KeptVolume =>
  ({ name: `dbaas-orders-pg-${n}-data`, role: 'postgres', member: `pg-${n}`, ...(generation ? { generation } : {}) });

test('kept data of one generation starts as before: all of it, in its generation', () => {
  assert.deepEqual(keptGenerationToStart('orders', [repo], 1), { generation: 1, members: [], left: [] }, 'no kept data: a new cluster');
  assert.deepEqual(keptGenerationToStart('orders', [repo], 2), { generation: 1, members: [], left: [] }, 'no kept data: a record alone changes nothing');
  assert.deepEqual(keptGenerationToStart('orders', [etcd0, pg(1), pg0], 1), { generation: 1, members: ['pg-0', 'pg-1'], left: [] });
  assert.deepEqual(keptGenerationToStart('orders', [etcd0, pg(3, 2), pg(2, 2)], 2), { generation: 2, members: ['pg-2', 'pg-3'], left: [] }, 'after a finish, labelled');
  // Kept by a dbaas before volume labels: a record of generation 2 serving and no labelled volume.
  assert.deepEqual(keptGenerationToStart('orders', [etcd0, pg(3), pg(2)], 2), { generation: 2, members: ['pg-2', 'pg-3'], left: [] }, 'after a finish, unlabelled');
});

test('kept data of both generations: the one that served starts, the other is left as it was', () => {
  // A run that failed after its cutover (generation 2 served), then `delete --keep-data`.
  const both = [etcd0, pg0, pg(1), pg(2, 2), pg(3, 2), repo];
  assert.deepEqual(keptGenerationToStart('orders', both, 2), {
    generation: 2, members: ['pg-2', 'pg-3'], left: [{ generation: 1, volumes: ['dbaas-orders-pg-0-data', 'dbaas-orders-pg-1-data'] }],
  });
  // One that failed before its cutover, or whose rollback put generation 1 back.
  assert.deepEqual(keptGenerationToStart('orders', both, 1), {
    generation: 1, members: ['pg-0', 'pg-1'], left: [{ generation: 2, volumes: ['dbaas-orders-pg-2-data', 'dbaas-orders-pg-3-data'] }],
  });
  // The members a create makes: the started generation's, then names after every kept one (never pg-2, pg-3 again).
  assert.deepEqual(membersOnKeptData(2, both, ['pg-0', 'pg-1']), ['pg-0', 'pg-1', 'pg-4']);
  assert.deepEqual(membersOnKeptData(0, both, ['pg-2', 'pg-3']), ['pg-2']);
  assert.deepEqual(membersOnKeptData(2, both, ['pg-2', 'pg-3']), ['pg-2', 'pg-3', 'pg-4']);
  // The serving generation's data is not kept: nothing tells which data to start.
  const none = keptGenerationToStart('orders', [etcd0, pg0, pg(4, 3)], 2);
  assert.ok('problem' in none);
  assert.match(none.problem, /keeps data of generations 1 and 3 from before \(--keep-data\), but generation 2 served at its delete/);
  assert.match(keptDataProblem(spec, { volumes: [etcd0, pg0, pg(4, 3)], secrets: true, serving: 2 }) ?? '', /generation 2 served at its delete/);
  assert.equal(keptDataProblem(spec, { volumes: both, secrets: true, serving: 1 }), undefined);
  assert.equal(keptDataProblem(spec, { volumes: [etcd0, pg0, pg(4, 3)], secrets: true }), undefined, 'a history from before knows no serving generation');
});

test('the create says which generation it started and which volumes it left, with how to remove them; a later generation left blocks the next upgrade', () => {
  const [used, rm] = keptDataLeftLines('orders', { started: 1, left: [{ generation: 2, volumes: ['dbaas-orders-pg-2-data', 'dbaas-orders-pg-3-data'] }] });
  assert.equal(used, 'kept data: generation 1 started (it served when orders was deleted); generation 2\'s data stays as it was, unused: dbaas-orders-pg-2-data, dbaas-orders-pg-3-data');
  assert.equal(rm, '  remove it once you no longer need it: `docker volume rm dbaas-orders-pg-2-data dbaas-orders-pg-3-data` (an upgrade of orders is refused while it is there)');
  assert.doesNotMatch(keptDataLeftLines('orders', { started: 2, left: [{ generation: 1, volumes: ['dbaas-orders-pg-0-data'] }] }).join('\n'), /upgrade/);
  assert.match(keptNextGenerationProblem('orders', 2, ['dbaas-orders-pg-2-data']), /^cluster orders keeps generation 2's data from before its delete \(--keep-data\), unused: dbaas-orders-pg-2-data; .*`docker volume rm dbaas-orders-pg-2-data`/);
  // After the delete: said only when the kept data is of several generations.
  assert.match(keptGenerationsLine('orders', [etcd0, pg0, pg(2, 2)], 2) ?? '', /`dbaas cluster create orders` starts generation 2's, which served; generation 1's stays as it is, unused/);
  assert.equal(keptGenerationsLine('orders', [etcd0, pg0], 1), undefined);
});

/** A host whose engine lists nothing but what the test gives: the cluster's volumes and members. */
function fakeHost(volumes: () => HostVolume[], members: () => Member[]): LocalEngine {
  const engine = { listContainers: async () => [], listNetworks: async () => [], listVolumes: async () => ({ Volumes: [] }) } as unknown as Docker;
  return Object.assign(new LocalEngine('local', engine), { volumes: async () => volumes(), containers: async () => ({ members: members(), helpers: [] }) });
}
const hostVolume = (v: KeptVolume): HostVolume => ({ ...v, cluster: 'orders', host: 'local' });
const container = (name: string, generation: number): Member => memberFromRow({
  Names: [`/dbaas-orders-${name}`], Labels: { ...labels('orders', 'postgres', name), ...generationLabels(generation) }, State: 'exited', Created: 0,
}, 'local', 'dbaas-orders')!;

test('the look-up tells each data volume\'s generation: its label, else its member\'s container\'s, else what the delete recorded from it', async () => {
  const paths = resolvePaths({ ...process.env, DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-kept-')) });
  // pg-0, pg-1: generation 1; pg-2 made by a dbaas before volume labels (unlabelled), pg-3 labelled.
  const volumes = [etcd0, pg0, pg(1), pg(2), pg(3, 2)].map(hostVolume);
  let members = [container('pg-0', 1), container('pg-1', 1), container('pg-2', 2), container('pg-3', 2)];
  const inv = new Inventory([fakeHost(() => volumes, () => members)], () => servingGeneration(paths, 'orders'));
  const generations = async () => Object.fromEntries((await clusterVolumes(inv, paths, 'orders')).map((v) => [v.member, v.generation]));
  const cluster = createClusterActivities(inv, paths);
  try {
    assert.deepEqual(await generations(), { 'etcd-0': undefined, 'pg-0': undefined, 'pg-1': undefined, 'pg-2': 2, 'pg-3': 2 }, 'live: pg-2 by its container');
    writeServingGeneration(paths, 'orders', 2);
    await cluster.removeCluster({ cluster: 'orders', keepData: true });
    members = [];
    assert.deepEqual(await generations(), { 'etcd-0': undefined, 'pg-0': undefined, 'pg-1': undefined, 'pg-2': 2, 'pg-3': 2 }, 'deleted: pg-2 by the record');
    assert.equal(servingGeneration(paths, 'orders'), 2, 'which generation served is kept with the data');
    assert.deepEqual(recordedVolumeGenerations(paths, 'orders'), { 'pg-2': 2 }, 'only what no label says');
    // A retried delete (the containers gone) keeps what the first attempt recorded.
    await cluster.removeCluster({ cluster: 'orders', keepData: true });
    assert.deepEqual(recordedVolumeGenerations(paths, 'orders'), { 'pg-2': 2 });
    const choice = keptGenerationToStart('orders', await clusterVolumes(inv, paths, 'orders'), servingGeneration(paths, 'orders'));
    assert.ok(!('problem' in choice));
    assert.deepEqual(choice.members, ['pg-2', 'pg-3'], 'generation 2, which served, starts; pg-0 and pg-1 are left');
    // A delete without --keep-data: the record goes with the data.
    await cluster.removeCluster({ cluster: 'orders', keepData: false });
    assert.equal(fs.existsSync(path.join(paths.home, 'generations', 'orders.json')), false);
  } finally {
    fs.rmSync(paths.home, { recursive: true, force: true });
  }
});

test('a data volume keeps its generation: made with the label, an unlabelled one taken as it is, never a member of another generation on one', async () => {
  const existing = new Map<string, Record<string, string>>();
  const docker = {
    getVolume: (name: string) => ({
      inspect: async () => {
        if (!existing.has(name)) throw Object.assign(new Error('no such volume'), { statusCode: 404 });
        return { Labels: existing.get(name) };
      },
    }),
    createVolume: async (o: { Name: string; Labels: Record<string, string> }) => void existing.set(o.Name, o.Labels),
  } as unknown as Docker;
  const member = (m: string, generation: number) => ({ ...labels('orders', 'postgres', m), ...generationLabels(generation) });
  await ensureVolume(docker, 'dbaas-orders-pg-2-data', member('pg-2', 2));
  assert.equal(existing.get('dbaas-orders-pg-2-data')?.[LABEL_GENERATION], '2');
  await ensureVolume(docker, 'dbaas-orders-pg-2-data', member('pg-2', 2));
  existing.set('dbaas-orders-pg-3-data', labels('orders', 'postgres', 'pg-3'));
  await ensureVolume(docker, 'dbaas-orders-pg-3-data', member('pg-3', 2));
  await assert.rejects(ensureVolume(docker, 'dbaas-orders-pg-2-data', member('pg-2', 1)), /holds generation 2's data, not generation 1's/);
});
