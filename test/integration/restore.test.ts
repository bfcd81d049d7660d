/**
 * Point-in-time restore into a new cluster: rows A, time T, then rows B and a delete; a restore
 * to T has exactly rows A, the source keeps its data; refusals create nothing. Then the source
 * is deleted (its backups kept on the repository host) and restored from them with `--latest`:
 * every row, also those written just before the delete.
 */
import { after, before, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import type { Paths } from '../../common/paths';
import type { StanzaSummary } from '../../common/backup';
import { clusterNames } from '../../client/cluster-info';
import { clusterFootprint } from '../../activities/cluster';
import { LABEL_CLUSTER } from '../../common/labels';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readBackupPassphrase } from '../../activities/backup-passphrase';
import { clusterSecretsExist } from '../../activities/secrets';
import { historyText } from '../helpers/history';
import { isEncrypted, repositoryFileHeads } from '../helpers/repository-files';
import { execIn } from '../../activities/docker';
import { repositoryHostName } from '../../activities/repository-host/host';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

let env: TestWorkflowEnvironment;
let paths: Paths;
let it: IntegrationEnv;
const docker = new Docker();
const S = testClusterName('src');
const R = testClusterName('pitr');
const D = testClusterName('undelete');
let T = '';
/** Each cluster's backup passphrase, read while it exists (the source's goes with its purge). */
const passphrases = new Map<string, string>();

before(async () => {
  it = await startIntegration(docker);
  ({ env, paths } = it);
  await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false });
});

after(async () => {
  await it?.stop([R, S, D]);
});

const query = <T extends Record<string, unknown>>(cluster: string, text: string): Promise<T[]> => queryCluster<T>(childEnv(env, paths), cluster, text);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = async (cluster: string): Promise<number[]> => (await query<{ id: number }>(cluster, 'select id from items order by id')).map((r) => r.id);

test('restore to time T: exactly rows A; the source keeps rows B and the delete', async () => {
  const e = childEnv(env, paths);
  await query(S, "create table items (id int primary key, grp text); insert into items select g, 'A' from generate_series(1, 100) g");
  const full = await runCli(['backup', 'run', S], e);
  assert.equal(full.code, 0, full.stderr + full.stdout);
  await sleep(1000);
  T = (await query<{ t: string }>(S, "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t"))[0].t;
  await sleep(2000);
  await query(S, "insert into items select g, 'B' from generate_series(101, 150) g; delete from items where id = 1");

  const r = await runCli(['restore', S, '--into', R, '--to-time', T, '--replicas', '1', '--profile', 'fast', '--wait-for-backup'], e);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(await ids(R), Array.from({ length: 100 }, (_, i) => i + 1), 'exactly rows A');
  const source = await ids(S);
  assert.equal(source.length, 149);
  assert.ok(!source.includes(1) && source.includes(150), 'the source is untouched');

  // The new cluster archives into its own stanza and has a first backup of its own, encrypted
  // with its own passphrase (the source's read the source's repository only).
  const list = JSON.parse((await runCli(['backup', 'list', R, '--json'], e)).stdout) as StanzaSummary;
  assert.equal(list.stanza, R);
  assert.equal(list.backups.length, 1);
  assert.equal(list.cipher, 'aes-256-cbc');
  for (const c of [S, R]) passphrases.set(c, readBackupPassphrase(paths, c) ?? '');
  assert.ok(passphrases.get(R) && passphrases.get(S) && passphrases.get(R) !== passphrases.get(S), 'each cluster has a passphrase of its own');
  const sourceList = JSON.parse((await runCli(['backup', 'list', S, '--json'], e)).stdout) as StanzaSummary;
  assert.equal(sourceList.backups.length, 1, 'nothing was written into the source\'s repository');
  // Replicas and HAProxy as CreateCluster makes them: a read through ro comes from a replica.
  const ro = (await runCli(['connect', R, '--ro'], e)).stdout.trim();
  const c = new Client({ connectionString: ro });
  await c.connect();
  assert.equal((await c.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0].r, true);
  assert.equal((await c.query<{ n: string }>('select count(*) as n from items')).rows[0].n, '100');
  await c.end();
});

test('bad input: too early, in the future, unknown source, existing target: one line, exit 2, nothing created', async () => {
  const e = childEnv(env, paths);
  const fresh = testClusterName('never');
  for (const args of [
    ['restore', S, '--into', fresh, '--to-time', '2001-01-01 00:00:00+00'],
    ['restore', S, '--into', fresh, '--to-time', '2999-01-01 00:00:00+00'],
    ['restore', S, '--into', fresh, '--to-time', 'yesterday'],
    ['restore', S, '--into', fresh],
    ['restore', 't-no-such-source', '--into', fresh, '--latest'],
    ['restore', S, '--into', R, '--latest'],
  ]) {
    const r = await runCli(args, e);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.deepEqual(await clusterFootprint(localInventory(docker), fresh), { containers: 0, networks: 0, volumes: 0 }, 'nothing of the new cluster exists');
  assert.ok((await clusterNames(localInventory(docker))).includes(R), 'the existing target is still there');
  const started: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "restore:${S}:${fresh}"` })) started.push(wf.workflowId);
  assert.deepEqual(started, []);
});

test('the restored cluster mounts no repository (its and the source\'s are on the repository host): deleting the source keeps its stanza there, the restore keeps serving', async () => {
  for (const c of [R]) {
    const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${c}`] } });
    const holders = cs.filter((x) => (x.Mounts ?? []).some((m) => m.Type === 'volume' && !/-data$/.test(m.Name ?? '')));
    assert.deepEqual(holders.map((x) => x.Names[0]), [], `${c} mounts a volume other than its data`);
  }
  // Written after the last backup and not yet in a full WAL segment: the delete archives them.
  await query(S, "insert into items select g, 'C' from generate_series(151, 160) g");
  const del = await runCli(['cluster', 'delete', S, '--yes'], childEnv(env, paths));
  assert.equal(del.code, 0, del.stderr + del.stdout);
  assert.deepEqual(await clusterFootprint(localInventory(docker), S), { containers: 0, networks: 0, volumes: 0 }, 'nothing of it is left on the data side: its stanza is on the repository host');
  // The passwords go; the passphrase stays with the repository, which nothing reads without it.
  assert.equal(clusterSecretsExist(paths, S), false);
  assert.equal(readBackupPassphrase(paths, S), passphrases.get(S));
  assert.equal(fs.statSync(path.join(paths.secrets, `${S}.backup.json`)).mode & 0o777, 0o600);
  const files = await repositoryFileHeads(docker, paths, S);
  assert.ok(files.length > 0 && files.every(isEncrypted), 'the kept repository is encrypted');
  assert.equal((await ids(R)).length, 100);
});

test('a deleted cluster: not listed, its kept backups listed, restored with every row, its name refused until purged', async () => {
  const e = childEnv(env, paths);
  assert.ok(!(await clusterNames(localInventory(docker))).includes(S), 'not listed as a cluster');
  const kept = JSON.parse((await runCli(['backup', 'list', S, '--json'], e)).stdout) as StanzaSummary;
  assert.ok(kept.backups.length >= 1, 'its backups are listed');
  assert.equal(kept.cipher, 'aes-256-cbc', 'the one-shot reader got the kept passphrase');

  const r = await runCli(['restore', S, '--into', D, '--latest', '--replicas', '0', '--profile', 'fast'], e);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  // Without --wait-for-backup the command returns once the cluster serves (unless the backup ended first).
  assert.match(r.stdout, new RegExp(`its first backup is running|first backup \\d{8}-\\d{6}F`));
  const expected = [...Array.from({ length: 149 }, (_, i) => i + 2), ...Array.from({ length: 10 }, (_, i) => i + 151)];
  assert.deepEqual(await ids(D), expected, 'every row, also those written just before the delete');

  const create = await runCli(['cluster', 'create', S, '--replicas', '0'], e);
  assert.equal(create.code, 2, create.stderr + create.stdout);
  assert.match(create.stderr, new RegExp(`cluster ${S} was deleted and its backups are kept`));
  const purge = await runCli(['backup', 'purge', S, '--yes'], e);
  assert.equal(purge.code, 0, purge.stderr + purge.stdout);
  assert.deepEqual(await clusterFootprint(localInventory(docker), S), { containers: 0, networks: 0, volumes: 0 });
  const stanzas = await execIn(docker, repositoryHostName(paths), ['sh', '-c', 'ls /var/lib/pgbackrest/backup /var/lib/pgbackrest/archive']);
  assert.ok(!stanzas.output.split(/\s+/).includes(S), `its stanza is gone from the repository host: ${stanzas.output}`);
  assert.equal(readBackupPassphrase(paths, S), undefined, 'the passphrase went with the repository');
  const deleted = JSON.parse((await runCli(['cluster', 'list', '--deleted', '--json'], e)).stdout) as { name: string }[];
  assert.ok(!deleted.some((d) => d.name === S), 'purged: no longer a deleted cluster with kept backups');
});

test('no backup passphrase occurs in any workflow history, query result or description of the source and the restores', async () => {
  passphrases.set(D, readBackupPassphrase(paths, D) ?? '');
  assert.ok([...passphrases.values()].every((p) => p.length >= 64), 'S, R and D each had one');
  let read = 0;
  for (const cluster of [S, R, D]) {
    for await (const wf of env.client.workflow.list({ query: `ClusterName = "${cluster}"` })) {
      const handle = env.client.workflow.getHandle(wf.workflowId, wf.runId);
      const text = (await historyText(handle)) + JSON.stringify(await handle.describe(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
      read++;
      for (const [owner, p] of passphrases) assert.ok(!text.includes(p), `${owner}'s passphrase found in ${wf.workflowId}`);
    }
  }
  assert.ok(read >= 8, `creates, restores, backups, delete and purge were read (${read})`);
});
