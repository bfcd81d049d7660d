/**
 * A create on data kept by `cluster delete --keep-data` that fails midway removes only what its
 * own run made: the kept data volumes, etcd, the backup repository and the secrets file are still
 * there, and a correct create afterwards finds the rows written before the delete. A spec that
 * cannot work on the kept data is refused before anything starts. Kept data of a later generation
 * (what a blue/green upgrade's finish leaves) starts under its names and Patroni scope; kept data of
 * both generations (a run that failed after its cutover) starts the one that served and leaves the other.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { IMAGES, postgresImage } from '../../common/images';
import { containerName, volumeName } from '../../common/resource-names';
import { stanzaServerOf } from '../../activities/repository-host/host';
import { execIn } from '../../activities/docker';
import { writeServingGeneration } from '../../activities/generations-file';
import { LABEL_CLUSTER, LABEL_GENERATION, LABEL_MEMBER } from '../../common/labels';
import { DEFAULT_POSTGRES_VERSION } from '../../common/postgres-version';
import { PATRONI_CONFIG_PATH } from '../../common/render/patroni';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type CliResult, type IntegrationEnv } from '../helpers/integration';

let it: IntegrationEnv;
const docker = new Docker();
const K = testClusterName('kept');
/** Made by this test under the HAProxy's deterministic name, without dbaas labels: the create's HAProxy step fails for good. */
const blocker = containerName(K, 'haproxy');

before(async () => {
  it = await startIntegration(docker);
});

after(async () => {
  await docker.getContainer(blocker).remove({ force: true }).catch(() => undefined);
  await it?.stop([K]);
});

const cli = (...args: string[]): Promise<CliResult> => runCli(args, childEnv(it.env, it.paths));
const volumes = async (): Promise<string[]> =>
  ((await docker.listVolumes({ filters: { label: [`${LABEL_CLUSTER}=${K}`] } })).Volumes ?? []).map((v) => v.Name).sort();
/** The rows of table `kept`, counted through HAProxy rw. */
const keptRows = async (): Promise<string> =>
  (await queryCluster<{ n: string }>(childEnv(it.env, it.paths), K, 'select count(*)::text as n from kept'))[0].n;
/** Each member as `cluster status` shows it: name, leader or replica, state; sorted. */
async function memberRoles(): Promise<string[][]> {
  const st = await cli('cluster', 'status', K, '--json');
  const members = (JSON.parse(st.stdout) as { members: { name: string; role: string; state: string }[] }).members;
  return members.map((m) => [m.name, m.role === 'leader' ? 'leader' : 'replica', m.state]).sort();
}

test('a failed create on kept data keeps volumes, repository and secrets; a correct create finds the rows, led by the member that led at the delete', async () => {
  const made = await cli('cluster', 'create', K, '--replicas', '1', '--profile', 'fast');
  assert.equal(made.code, 0, made.stderr + made.stdout);
  await queryCluster(childEnv(it.env, it.paths), K, 'create table kept as select g as id from generate_series(1, 1000) g');
  // pg-1 leads at the delete, and has rows pg-0 got only by streaming from it.
  const sw = await cli('switchover', K, '--to', 'pg-1');
  assert.equal(sw.code, 0, sw.stderr + sw.stdout);
  await queryCluster(childEnv(it.env, it.paths), K, 'insert into kept select g from generate_series(1001, 1500) g');
  const del = await cli('cluster', 'delete', K, '--keep-data', '--yes');
  assert.equal(del.code, 0, del.stderr + del.stdout);
  const kept = await volumes();
  assert.deepEqual(kept, [`dbaas-${K}-etcd-0-data`, `dbaas-${K}-pg-0-data`, `dbaas-${K}-pg-1-data`]);
  const stanza = stanzaServerOf(it.paths, K);
  assert.ok(stanza, 'its stanza stays on the repository host');
  const secrets = path.join(it.paths.secrets, `${K}.json`);
  const secretsBefore = fs.readFileSync(secrets, 'utf8');

  const wrongEtcd = await cli('cluster', 'create', K, '--replicas', '1', '--etcd', '3');
  assert.equal(wrongEtcd.code, 2, wrongEtcd.stderr + wrongEtcd.stdout);
  assert.match(wrongEtcd.stderr, /kept from before \(--keep-data\) with 1 etcd member: create it with --etcd 1/);
  assert.deepEqual(await volumes(), kept, 'refused before anything was created');
  // The delete recorded the data's major (17, the default): another one would not start on it.
  const wrongVersion = await cli('cluster', 'create', K, '--replicas', '1', '--version', '15');
  assert.equal(wrongVersion.code, 2, wrongVersion.stderr + wrongVersion.stdout);
  assert.match(wrongVersion.stderr, /kept from before \(--keep-data\) in PostgreSQL 17: create it with --version 17/);
  assert.deepEqual(await volumes(), kept, 'refused before anything was created');

  await docker.createContainer({ name: blocker, Image: IMAGES.haproxy, Cmd: ['true'] });
  const failed = await cli('cluster', 'create', K, '--replicas', '2', '--profile', 'fast');
  assert.equal(failed.code, 1, failed.stderr + failed.stdout);
  assert.match(failed.stderr, /exists but does not belong/);
  assert.deepEqual(await volumes(), kept, 'the kept volumes stay; pg-2-data, made by the failed run, is gone');
  assert.deepEqual(stanzaServerOf(it.paths, K), stanza, 'the kept stanza stays on the repository host');
  assert.equal(fs.readFileSync(secrets, 'utf8'), secretsBefore, 'the kept secrets stay');
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${K}`] } });
  assert.deepEqual(left.map((c) => c.Names[0]), [], 'no container of the failed run is left');
  await docker.getContainer(blocker).remove({ force: true });

  const again = await cli('cluster', 'create', K, '--replicas', '1', '--profile', 'fast');
  assert.equal(again.code, 0, again.stderr + again.stdout);
  assert.equal(await keptRows(), '1500', 'the rows written before the delete');
  assert.deepEqual(await memberRoles(), [['pg-0', 'replica', 'running'], ['pg-1', 'leader', 'running']], 'pg-1 leads again on its newest data; pg-0 follows');
});

/** Docker cannot rename a volume: a copy of `from`'s kept data as `to`'s, labelled alike, and `from`'s gone. */
async function moveKeptVolume(from: string, to: string): Promise<void> {
  const [source, target] = [volumeName(K, from), volumeName(K, to)];
  const { Labels } = await docker.getVolume(source).inspect();
  await docker.createVolume({ Name: target, Labels: { ...Labels, [LABEL_MEMBER]: to } });
  const copier = await docker.createContainer({
    Image: postgresImage(DEFAULT_POSTGRES_VERSION), User: 'root', Entrypoint: ['cp', '-a', '/from/.', '/to/'],
    HostConfig: { Binds: [`${source}:/from:ro`, `${target}:/to`] },
  });
  try {
    await copier.start();
    assert.equal((await copier.wait()).StatusCode, 0, `copied ${source} to ${target}`);
  } finally {
    await copier.remove({ force: true });
  }
  await docker.getVolume(source).remove();
}

// Runs on the cluster the test above made again. Its setup stands in for an upgrade (minutes):
// after `upgrade finish` the kept data is generation 2's members' (pg-2, pg-3…, scope NAME-g2)
// and the serving record says 2. Here the leader's volume becomes pg-3's and the record is
// written; unlike after a finish, etcd has no grant for NAME-g2 yet, which the create makes.
test('a create on kept data of a later generation starts it under its names and scope: pg-3 leads on its data, the new member is pg-4', async () => {
  const del = await cli('cluster', 'delete', K, '--keep-data', '--yes');
  assert.equal(del.code, 0, del.stderr + del.stdout);
  // pg-1 led at the delete: its data is the newest.
  await moveKeptVolume('pg-1', 'pg-3');
  await docker.getVolume(volumeName(K, 'pg-0')).remove();
  writeServingGeneration(it.paths, K, 2);

  const made = await cli('cluster', 'create', K, '--replicas', '1', '--profile', 'fast');
  assert.equal(made.code, 0, made.stderr + made.stdout);
  assert.deepEqual(await volumes(), [`dbaas-${K}-etcd-0-data`, `dbaas-${K}-pg-3-data`, `dbaas-${K}-pg-4-data`], 'no pg-0 beside the kept data');
  assert.equal(await keptRows(), '1500', 'the rows of the kept data');
  assert.deepEqual(await memberRoles(), [['pg-3', 'leader', 'running'], ['pg-4', 'replica', 'running']], 'pg-4 cloned from pg-3 in the same Patroni cluster');
  for (const m of ['pg-3', 'pg-4']) {
    const { Config } = await docker.getContainer(containerName(K, m)).inspect();
    assert.equal(Config.Labels[LABEL_GENERATION], '2', `${m} is generation 2's`);
    const scope = await execIn(docker, containerName(K, m), ['grep', '^scope:', PATRONI_CONFIG_PATH]);
    assert.equal(scope.output.trim(), `scope: ${K}-g2`, `${m}'s Patroni scope`);
  }
  // The new member's volume carries its generation; pg-3's, made like one of an older dbaas, does not.
  assert.equal((await docker.getVolume(volumeName(K, 'pg-4')).inspect()).Labels?.[LABEL_GENERATION], '2');
  assert.equal((await docker.getVolume(volumeName(K, 'pg-3')).inspect()).Labels?.[LABEL_GENERATION], undefined);
});

// Runs on the cluster the test above made (generation 2 serves: pg-3, whose volume has no
// generation label, and pg-4, whose volume has). A volume pg-0 stands in for generation 1's data,
// which a blue/green run that failed after its cutover leaves beside generation 2's.
test('kept data of both generations: the delete keeps both and says so, the create starts generation 2 (pg-3 by its container at the delete) and leaves pg-0 as it was', async () => {
  const { Labels } = await docker.getVolume(volumeName(K, 'pg-4')).inspect();
  const { [LABEL_GENERATION]: _generation, ...firstGeneration } = Labels ?? {};
  await docker.createVolume({ Name: volumeName(K, 'pg-0'), Labels: { ...firstGeneration, [LABEL_MEMBER]: 'pg-0' } });
  const del = await cli('cluster', 'delete', K, '--keep-data', '--yes');
  assert.equal(del.code, 0, del.stderr + del.stdout);
  assert.match(del.stdout, new RegExp(`\`dbaas cluster create ${K}\` starts generation 2's, which served; generation 1's stays as it is, unused`));
  const kept = [`dbaas-${K}-etcd-0-data`, `dbaas-${K}-pg-0-data`, `dbaas-${K}-pg-3-data`, `dbaas-${K}-pg-4-data`];
  assert.deepEqual(await volumes(), kept);

  const made = await cli('cluster', 'create', K, '--replicas', '1', '--profile', 'fast');
  assert.equal(made.code, 0, made.stderr + made.stdout);
  assert.match(made.stdout, new RegExp(`kept data: generation 2 started \\(it served when ${K} was deleted\\); generation 1's data stays as it was, unused: dbaas-${K}-pg-0-data`));
  assert.match(made.stdout, new RegExp(`\`docker volume rm dbaas-${K}-pg-0-data\``));
  assert.deepEqual(await memberRoles(), [['pg-3', 'leader', 'running'], ['pg-4', 'replica', 'running']], 'generation 2 only, pg-3 leading on its data');
  assert.equal(await keptRows(), '1500');
  assert.deepEqual(await volumes(), kept, 'pg-0\'s volume stays, and no member was made on it');
  assert.equal(await docker.getContainer(containerName(K, 'pg-0')).inspect().then(() => true, () => false), false);
});
