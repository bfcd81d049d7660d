/**
 * A cluster whose backups live on the control plane's repository host (`--backup-to
 * repository-host`): a `dbaas-backup` container with its own volume, one stanza per cluster,
 * each served by its own `pgbackrest server` as its own Unix user. No member mounts a repository;
 * WAL reaches the host over TLS; root on the host runs the backups, reading the data files from
 * the standby. A member, though authorized for its stanza, can neither list other stanzas nor
 * overwrite or delete backups. The whole data side of the cluster removed (containers and
 * volumes), its backups stay on the host and restore into a new cluster with every row written
 * before the delete. Purged, the stanza is gone from the host. A cluster with a volume
 * repository moves onto the host with `backup migrate`, its backups and WAL with it: the next
 * incremental backup builds on the full one taken on the volume.
 */
import { after, before, describe, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Paths } from '../../common/paths';
import type { StanzaSummary } from '../../common/backup';
import { LABEL_CLUSTER, LABEL_MEMBER, LABEL_ROLE } from '../../common/labels';
import { containerName, volumeName } from '../../common/resource-names';
import { clusterFootprint } from '../../activities/cluster';
import { execIn } from '../../activities/docker';
import { removeRepositoryHost, repositoryHostName, stanzaServerOf } from '../../activities/repository-host/host';
import { pgbackrestBinary } from '../../activities/repository-host/render';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type CliResult, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const C = testClusterName('rh');
/** C restored from the repository host after C's data side is gone. */
const R = testClusterName('rhres');
/** Made with a volume repository, then moved onto the repository host by `backup migrate`. */
const M = testClusterName('rhmove');
const REPO = '/var/lib/pgbackrest';
let it: IntegrationEnv;
let env: TestWorkflowEnvironment;
let paths: Paths;
let host = '';

type Listed = StanzaSummary & { repository?: string };
const cli = (args: string[]): Promise<CliResult> => runCli(args, childEnv(env, paths));
const query = <T extends Record<string, unknown>>(cluster: string, text: string): Promise<T[]> => queryCluster<T>(childEnv(env, paths), cluster, text, ['--superuser']);
const ids = async (cluster: string): Promise<number[]> => (await query<{ id: number }>(cluster, 'select id from items order by id')).map((r) => r.id);

async function backupList(cluster: string): Promise<Listed> {
  const r = await cli(['backup', 'list', cluster, '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout) as Listed;
}

/** As root on the repository host. */
async function onHost(cmd: string): Promise<string> {
  const r = await execIn(docker, host, ['sh', '-c', cmd]);
  assert.equal(r.exitCode, 0, `${cmd}: ${r.output}`);
  return r.output;
}

describe('a cluster whose backups live on the repository host', () => {
  before(async () => {
    it = await startIntegration(docker);
    ({ env, paths } = it);
    host = repositoryHostName(paths);
  });

  after(async () => {
    await it?.stop([R, C, M]);
    if (paths) {
      await removeRepositoryHost(docker, paths);
      fs.rmSync(paths.home, { recursive: true, force: true });
    }
  });

  test('made with --backup-to repository-host: no member mounts a repository, the host serves the stanza as its own user, WAL arrives over TLS', async () => {
    const bad = await cli(['cluster', 'create', testClusterName('rhbad'), '--backup-to', 'repository-host', '--s3-region', 'us-east-1']);
    assert.equal(bad.code, 2, bad.stderr + bad.stdout);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);

    const made = await cli(['cluster', 'create', C, '--replicas', '1', '--profile', 'fast', '--etcd', '1', '--backup-to', 'repository-host']);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    const members = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${C}`, `${LABEL_ROLE}=postgres`] } });
    assert.equal(members.length, 2);
    for (const m of members) {
      const member = m.Labels[LABEL_MEMBER];
      const mounts = (await docker.getContainer(m.Id).inspect()).Mounts.map((x) => `${x.Type}:${x.Name ?? x.Source}`);
      assert.deepEqual(mounts, [`volume:${volumeName(C, member)}`], `${member} mounts only its data volume`);
      const inside = await execIn(docker, m.Names[0].slice(1), ['sh', '-c', `ls -A ${REPO}`]);
      assert.equal(inside.output.trim(), '', `${member} has nothing of a repository at ${REPO}`);
    }
    const server = stanzaServerOf(paths, C);
    assert.ok(server, 'the stanza has a server on the host');
    const ps = await onHost('for p in /proc/[0-9]*; do echo "$(stat -c %u $p) $(tr "\\0" " " < $p/cmdline)"; done');
    // pgBackRest 2.55 for a 17 cluster: its members' version (the host has 2.45 beside it for 15 clusters).
    assert.match(ps, new RegExp(`^${server.uid} ${pgbackrestBinary(17)} server $`, 'm'), 'its server runs as the stanza\'s own user');
    const wal = await onHost(`find ${REPO}/archive/${C} -type f -name '0000*'`);
    assert.ok(wal.trim().length > 0, 'archived WAL is on the host');
  });

  test('a backup run by the host reads the data files from the standby; listed with the repository host', async () => {
    await query(C, "create table items (id int primary key); insert into items select generate_series(1, 100)");
    const run = await cli(['backup', 'run', C, '--type', 'full']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /data files from pg-1/);
    const log = await onHost(`cat /var/log/pgbackrest/${C}-backup.log`);
    const fromStandby = log.match(new RegExp(`backup file ${containerName(C, 'pg-1')}:`, 'g'))?.length ?? 0;
    assert.ok(fromStandby > 100, `files copied from the standby: ${fromStandby}`);
    assert.doesNotMatch(log, new RegExp(`backup file ${containerName(C, 'pg-0')}:/var/lib/dbaas/pgdata/base/`), 'no table file was read on the leader');
    const list = await backupList(C);
    assert.equal(list.backups.length, 1, JSON.stringify(list));
    assert.match(list.repository ?? '', new RegExp(`^repository host ${host}`));
    // Backups are root's, readable by the stanza's server (its group) for restores; sealed WAL too.
    // WAL the server pushed after the seal (archive_timeout switches segments) is the server's until the next backup seals it;
    // so is the backup's history file (<segment>.<offset>.backup), which the leader archives after the backup stops, maybe after the seal.
    const walStop = list.backups[0]!.walStop;
    const owners = await onHost(`find ${REPO}/backup/${C} ${REPO}/archive/${C} -type f -printf '%f %u %m\\n'`);
    const sealed = owners.trim().split('\n').filter((l) => !/^[0-9A-F]{24}/.test(l) || (l.slice(0, 24) <= walStop && !/^[0-9A-F]{24}\.[0-9A-F]{8}\.backup/.test(l)));
    assert.deepEqual([...new Set(sealed.map((l) => l.split(' ').slice(1).join(' ')))], ['root 640'], owners);
  });

  test('a member cannot list other stanzas, read or write them, overwrite or delete backups or sealed WAL, even through its own stanza server', async () => {
    const leader = containerName(C, 'pg-0');
    const label = (await backupList(C)).backups[0].label;
    // Another cluster's stanza, as the host lays one out: root's, in its own server's group.
    await onHost(`install -d -o 0 -g 29999 -m 2750 ${REPO}/backup/other && echo kept > ${REPO}/backup/other/canary && chgrp 29999 ${REPO}/backup/other/canary && chmod 0640 ${REPO}/backup/other/canary`);
    const sealed = (await onHost(`find ${REPO}/archive/${C} -type f -name '0000*' | sort | head -1`)).trim().slice(`${REPO}/`.length);
    const attempt = (args: string[], stdin?: string) => execIn(docker, leader, ['pgbackrest', `--stanza=${C}`, ...args], stdin);
    const refused: Record<string, string> = {};
    for (const [what, args] of [
      ['list the stanzas', ['repo-ls', 'backup']],
      ['read another stanza', ['repo-get', '--raw', 'backup/other/canary']],
      ['write another stanza', ['repo-put', '--raw', 'backup/other/canary']],
      ['overwrite backup.info', ['repo-put', '--raw', `backup/${C}/backup.info`]],
      ['overwrite the manifest', ['repo-put', '--raw', `backup/${C}/${label}/backup.manifest`]],
      ['add a file to the backup', ['repo-put', '--raw', `backup/${C}/${label}/planted`]],
      ['overwrite sealed WAL', ['repo-put', '--raw', sealed]],
      ['read root\'s config of the stanza', [`--repo1-path=/etc/pgbackrest/root/${C}`, 'repo-get', '--raw', 'pgbackrest.conf']],
      ['plant a file in /etc/pgbackrest', ['--repo1-path=/etc/pgbackrest', 'repo-put', '--raw', 'planted']],
    ] as [string, string[]][]) {
      const r = await attempt(args, 'x');
      assert.notEqual(r.exitCode, 0, `${what} worked: ${r.output}`);
      refused[what] = r.output.trim().split('\n').find((l) => l.includes('ERROR')) ?? '';
    }
    console.log(`# refused: ${JSON.stringify(refused, null, 1)}`);
    assert.equal(await onHost(`cat ${REPO}/backup/other/canary`), 'kept\n');
    await onHost(`rm -rf ${REPO}/backup/other`);
    await attempt(['stop']);
    const del = await attempt(['--force', 'stanza-delete']);
    await attempt(['start']);
    assert.notEqual(del.exitCode, 0, `stanza-delete worked: ${del.output}`);
    const after = await backupList(C);
    assert.deepEqual(after.backups.map((b) => b.label), [label], 'the backup is still there');
    assert.equal(after.backups[0].error ?? false, false, 'and valid');
  });

  test('the leader killed during a backup: the backup fails cleanly or finishes, no half backup is listed, and the next backup runs', async () => {
    const status = async () => JSON.parse((await cli(['cluster', 'status', C, '--json'])).stdout) as { members: { name: string; role: string; state: string }[] };
    const leader = (await status()).members.find((m) => m.role === 'leader')!.name;
    // About 150 MB: the backup runs for seconds.
    const init = await execIn(docker, containerName(C, leader), ['pgbench', '-i', '-q', '-s', '10', '-h', '/var/run/postgresql', 'postgres']);
    assert.equal(init.exitCode, 0, init.output);
    const before = (await backupList(C)).backups;
    const run = cli(['backup', 'run', C, '--type', 'full']);
    const deadline = Date.now() + 60_000;
    while ((await execIn(docker, host, ['sh', '-c', "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done 2>/dev/null | grep -q '^/[^ ]*pgbackrest .* backup $'"])).exitCode !== 0) {
      assert.ok(Date.now() < deadline, 'the backup never started on the host');
      await new Promise((r) => setTimeout(r, 100));
    }
    await docker.getContainer(containerName(C, leader)).kill();
    const r = await run;
    console.log(`# the backup with its leader killed: exit ${r.code}${r.code === 0 ? '' : `: ${(r.stderr + r.stdout).trim().split('\n').slice(-2).join(' / ')}`}`);
    const after = await backupList(C);
    assert.equal(after.statusCode, 0, 'the stanza is ok');
    assert.equal(after.backups.length, before.length + (r.code === 0 ? 1 : 0), 'a backup is listed only if the run succeeded');
    for (const b of after.backups) assert.equal(b.error ?? false, false, `${b.label} is complete`);
    // The killed member comes back (restart policy) as a replica; then the next backup runs.
    const back = Date.now() + 120_000;
    while (!(await status()).members.every((m) => ['running', 'streaming'].includes(m.state))) {
      assert.ok(Date.now() < back, 'the old leader never came back');
      await new Promise((res) => setTimeout(res, 1000));
    }
    const next = await cli(['backup', 'run', C, '--type', 'incr']);
    assert.equal(next.code, 0, next.stderr + next.stdout);
  });

  test('the data side removed (containers and volumes): its backups stay on the host and restore every row into a new cluster', async () => {
    await query(C, 'insert into items select generate_series(101, 150)');
    const backups = (await backupList(C)).backups.length;
    const del = await cli(['cluster', 'delete', C, '--yes']);
    assert.equal(del.code, 0, del.stderr + del.stdout);
    assert.deepEqual(await clusterFootprint(localInventory(docker), C), { containers: 0, networks: 0, volumes: 0 }, 'nothing of the cluster is left in Docker');
    const kept = await backupList(C);
    assert.equal(kept.backups.length, backups, 'its backups are listed from the host');
    const r = await cli(['restore', C, '--into', R, '--latest', '--replicas', '0', '--profile', 'fast', '--backup-to', 'repository-host', '--wait-for-backup']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(await ids(R), Array.from({ length: 150 }, (_, i) => i + 1), 'every row written before the delete');
    const restored = await backupList(R);
    assert.equal(restored.backups.length, 1, 'the restored cluster has its first backup in its own stanza on the host');
  });

  test('backup purge: the stanza goes from the host, its server stops', async () => {
    const uid = stanzaServerOf(paths, C)!.uid;
    const purge = await cli(['backup', 'purge', C, '--yes']);
    assert.equal(purge.code, 0, purge.stderr + purge.stdout);
    assert.equal(stanzaServerOf(paths, C), undefined);
    assert.equal((await onHost(`ls ${REPO}/backup ${REPO}/archive`)).includes(C), false, 'no backup or WAL of it is left');
    const ps = await onHost('for p in /proc/[0-9]*; do stat -c %u $p; done');
    assert.ok(!ps.split('\n').includes(String(uid)), 'no process of its server runs');
    assert.ok(stanzaServerOf(paths, R), 'the restored cluster\'s stanza stays');
  });

  test('backup migrate moves a volume repository onto the host: its backups and WAL follow, the volume goes, the next incremental builds on the old full', async () => {
    const made = await cli(['cluster', 'create', M, '--replicas', '1', '--profile', 'fast', '--etcd', '1', '--backup-to', 'volume']);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    await query(M, 'create table items (id int primary key); insert into items select generate_series(1, 100)');
    const full = await cli(['backup', 'run', M, '--type', 'full']);
    assert.equal(full.code, 0, full.stderr + full.stdout);
    const before = (await backupList(M)).backups;
    assert.match((await backupList(M)).repository ?? '', /^volume /);
    await query(M, 'insert into items select generate_series(101, 120)');

    const bad = await cli(['backup', 'migrate', M, '--backup-to', 's3://x']);
    assert.equal(bad.code, 2, bad.stderr + bad.stdout);
    const moved = await cli(['backup', 'migrate', M]);
    assert.equal(moved.code, 0, moved.stderr + moved.stdout);
    assert.match(moved.stdout, /1 backups moved from volume dbaas-.*-backup-repo \(removed\)/);
    const volumes = ((await docker.listVolumes({ filters: { label: [`${LABEL_CLUSTER}=${M}`] } })).Volumes ?? []).map((v) => v.Labels?.[LABEL_ROLE]);
    assert.deepEqual(volumes.filter((r) => r === 'backup'), [], 'the repository volume is gone');
    for (const m of await docker.listContainers({ filters: { label: [`${LABEL_CLUSTER}=${M}`, `${LABEL_ROLE}=postgres`] } })) {
      assert.deepEqual(m.Mounts.map((x) => x.Name), [volumeName(M, m.Labels[LABEL_MEMBER])], `${m.Labels[LABEL_MEMBER]} mounts only its data`);
    }
    const list = await backupList(M);
    assert.match(list.repository ?? '', /^repository host /);
    assert.deepEqual(list.backups.map((b) => b.label), before.map((b) => b.label), 'the volume\'s backup is listed on the host');

    const incr = await cli(['backup', 'run', M, '--type', 'incr']);
    assert.equal(incr.code, 0, incr.stderr + incr.stdout);
    const after = (await backupList(M)).backups;
    assert.equal(after.length, 2);
    assert.equal(after[1].prior, before[0].label, 'the incremental builds on the full taken on the volume');
    const verify = await cli(['backup', 'verify', M]);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  });
});
