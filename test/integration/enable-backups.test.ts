/**
 * A cluster made without backups (`create --no-backups`) gets its repository (on the repository
 * host, the default) and WAL archiving with `backup enable`: every member is re-created with the
 * access to it (no mount), the data stays, and backups work. A second run moves nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Paths } from '../../common/paths';
import type { StanzaSummary } from '../../common/backup';
import { LABEL_CLUSTER, LABEL_MEMBER, LABEL_REPOSITORY, LABEL_ROLE } from '../../common/labels';
import { repositoryVolumeName } from '../../common/resource-names';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

let env: TestWorkflowEnvironment;
let paths: Paths;
let it: IntegrationEnv;
const docker = new Docker();
const E = testClusterName('nobak');

before(async () => {
  it = await startIntegration(docker);
  ({ env, paths } = it);
});

after(async () => {
  await it?.stop([E]);
});

const query = <T extends Record<string, unknown>>(args: string[], text: string): Promise<T[]> => queryCluster<T>(childEnv(env, paths), E, text, args);

/** member → [container id, reaches the repository host, mounts a volume other than its data]. */
async function members(): Promise<Map<string, [string, boolean, boolean]>> {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${E}`, `${LABEL_ROLE}=postgres`] } });
  return new Map(cs.map((c) => [c.Labels[LABEL_MEMBER], [c.Id, c.Labels[LABEL_REPOSITORY] === 'host', (c.Mounts ?? []).some((m) => m.Type === 'volume' && !/-data$/.test(m.Name ?? ''))]]));
}

test('create --no-backups: no repository, no archiving; backup run says how to enable', async () => {
  const e = childEnv(env, paths);
  const made = await runCli(['cluster', 'create', E, '--replicas', '1', '--profile', 'fast', '--no-backups'], e);
  assert.equal(made.code, 0, made.stderr + made.stdout);
  assert.deepEqual([...(await members()).values()].map(([, host, mounts]) => [host, mounts]), [[false, false], [false, false]]);
  assert.deepEqual((await docker.listVolumes({ filters: { name: [repositoryVolumeName(E)] } })).Volumes ?? [], []);
  assert.equal(JSON.parse((await runCli(['cluster', 'status', E, '--json'], e)).stdout).backups, 'off');
  assert.equal((await query<{ archive_mode: string }>([], 'show archive_mode'))[0].archive_mode, 'off');
  const r = await runCli(['backup', 'run', E], e);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /has no backup repository.*dbaas backup enable/);
  for (const args of [['backup', 'list', E], ['backup', 'verify', E], ['backup', 'schedule', E, '--cron', '0 3 * * *']]) {
    const l = await runCli(args, e);
    assert.equal(l.code, 2, `${args.join(' ')}: ${l.stdout} ${l.stderr}`);
    assert.match(l.stderr, /has no backup repository.*dbaas backup enable/);
    assert.equal(l.stderr.trim().split('\n').length, 1, l.stderr);
  }
});

test('backup enable: every member re-created with access to the repository host (no mount), the leader after a switchover; data kept; backups work', async () => {
  const e = childEnv(env, paths);
  await query([], 'create table kept (id int primary key); insert into kept select generate_series(1, 500)');
  const before = await members();
  const r = await runCli(['backup', 'enable', E], e);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /now archives WAL into its repository: re-created pg-1, pg-0; leader pg-1/);
  const after = await members();
  assert.deepEqual((await docker.listVolumes({ filters: { name: [repositoryVolumeName(E)] } })).Volumes ?? [], [], 'no repository volume');
  for (const [m, [id, host, mounts]] of after) {
    assert.deepEqual([host, mounts], [true, false], `${m} reaches the repository host and mounts nothing but its data`);
    assert.notEqual(id, before.get(m)?.[0], `${m} was re-created`);
  }
  assert.equal((await query<{ archive_mode: string }>([], 'show archive_mode'))[0].archive_mode, 'on');
  assert.equal(JSON.parse((await runCli(['cluster', 'status', E, '--json'], e)).stdout).backups, 'on');
  // Through rw (now pg-1) and ro (now pg-0, a replica again): the data is all there.
  assert.equal((await query<{ n: string }>([], 'select count(*) as n from kept'))[0].n, '500');
  await query([], 'insert into kept values (501)');
  const deadline = Date.now() + 10_000;
  let n = '';
  while (Date.now() < deadline && (n = (await query<{ n: string }>(['--ro'], 'select count(*) as n from kept'))[0].n) !== '501') await new Promise((res) => setTimeout(res, 200));
  assert.equal(n, '501', 'a write through rw is read back through ro');

  const b = await runCli(['backup', 'run', E], e);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const list = JSON.parse((await runCli(['backup', 'list', E, '--json'], e)).stdout) as StanzaSummary;
  assert.equal(list.backups.length, 1);
  assert.notEqual(list.archiveMax, null);
  assert.equal(list.cipher, 'aes-256-cbc', 'a repository added later is encrypted too');
});

test('backup enable again moves nothing', async () => {
  const before = await members();
  const r = await runCli(['backup', 'enable', E], childEnv(env, paths));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /already had its backup repository/);
  assert.deepEqual(await members(), before);
});
