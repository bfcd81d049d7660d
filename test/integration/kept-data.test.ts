/**
 * A create on data kept by `cluster delete --keep-data` that fails midway removes only what its
 * own run made: the kept data volumes, etcd, the backup repository and the secrets file are still
 * there, and a correct create afterwards finds the rows written before the delete. A spec that
 * cannot work on the kept data is refused before anything starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { IMAGES } from '../../common/images';
import { containerName } from '../../common/resource-names';
import { stanzaServerOf } from '../../activities/repository-host/host';
import { LABEL_CLUSTER } from '../../common/labels';
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
  const rows = await queryCluster<{ n: string }>(childEnv(it.env, it.paths), K, 'select count(*)::text as n from kept');
  assert.equal(rows[0].n, '1500', 'the rows written before the delete');
  const st = await cli('cluster', 'status', K, '--json');
  const members = (JSON.parse(st.stdout) as { members: { name: string; role: string; state: string }[] }).members;
  assert.deepEqual(members.map((m) => [m.name, m.role === 'leader' ? 'leader' : 'replica', m.state]).sort(),
    [['pg-0', 'replica', 'running'], ['pg-1', 'leader', 'running']], 'pg-1 leads again on its newest data; pg-0 follows');
});
