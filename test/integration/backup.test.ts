/**
 * Backups with pgBackRest on a real cluster (its repository on the repository host, the
 * default): full, then diff and incr after more writes; the repository lists all three with
 * their chain; refusals change nothing.
 */
import { after, before, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Paths } from '../../common/paths';
import type { StanzaSummary } from '../../common/backup';
import { scheduleIds, type BackupScheduleView } from '../../common/schedules';
import { describeSchedule } from '../../activities/schedules';
import { clusterNames } from '../../client/cluster-info';
import { readBackupPassphrase } from '../../activities/backup-passphrase';
import { execIn } from '../../activities/docker';
import { containerName } from '../../common/resource-names';
import { PGBACKREST_CONFIG_PATH } from '../../common/render/pgbackrest';
import { isEncrypted, repositoryFileHeads } from '../helpers/repository-files';
import { repositoryHostName } from '../../activities/repository-host/host';
import { rootConfigPath } from '../../activities/repository-host/render';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

let env: TestWorkflowEnvironment;
let paths: Paths;
let it: IntegrationEnv;
const docker = new Docker();
const B = testClusterName('bak');

before(async () => {
  it = await startIntegration(docker);
  ({ env, paths } = it);
  await it.createCluster({ name: B, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false });
});

after(async () => {
  await it?.stop([B]);
});

async function sql(text: string): Promise<void> {
  await queryCluster(childEnv(env, paths), B, text);
}

async function list(): Promise<StanzaSummary> {
  const r = await runCli(['backup', 'list', B, '--json'], childEnv(env, paths));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StanzaSummary;
}

test('CreateCluster made the stanza: WAL is archived before any backup', async () => {
  const s = await list();
  assert.equal(s.backups.length, 0);
  assert.notEqual(s.archiveMax, null, `archived WAL expected, status ${s.status}`);
});

test('full, then diff and incr after more writes: three backups, each built on the one before', async () => {
  const e = childEnv(env, paths);
  await sql('create table orders (id int primary key, note text); insert into orders select g, md5(g::text) from generate_series(1, 20000) g');
  const full = await runCli(['backup', 'run', B, '--type', 'full'], e);
  assert.equal(full.code, 0, full.stderr + full.stdout);
  assert.match(full.stdout, /backup \d{8}-\d{6}F \(full\): .* WAL [0-9A-F]{24} … [0-9A-F]{24}/);
  await sql('insert into orders select g, md5(g::text) from generate_series(20001, 30000) g');
  const diff = await runCli(['backup', 'run', B, '--type', 'diff', '--retention-full', '3'], e);
  assert.equal(diff.code, 0, diff.stderr + diff.stdout);
  await sql('insert into orders select g, md5(g::text) from generate_series(30001, 35000) g');
  const incr = await runCli(['backup', 'run', B, '--type', 'incr'], e);
  assert.equal(incr.code, 0, incr.stderr + incr.stdout);
  const s = await list();
  assert.deepEqual(s.backups.map((b) => b.type), ['full', 'diff', 'incr']);
  const [f, d, i] = s.backups;
  assert.equal(d.prior, f.label);
  assert.equal(i.prior, d.label);
  assert.ok(i.repositoryBytes < f.repositoryBytes, 'an incremental backup stores less than the full one');
  const table = await runCli(['backup', 'list', B], e);
  assert.match(table.stdout, new RegExp(i.label));
});

test('the repository on the repository host is encrypted: no file of its stanza is plain data (backups, WAL, manifests, info files), pgBackRest reports aes-256-cbc, the passphrase is on no command line', async () => {
  const e = childEnv(env, paths);
  const s = await list();
  assert.equal(s.cipher, 'aes-256-cbc');
  assert.match((await runCli(['backup', 'list', B], e)).stdout, /; encrypted \(aes-256-cbc\)/);
  const files = await repositoryFileHeads(docker, paths, B);
  const full = s.backups.find((b) => b.type === 'full')?.label;
  const pages = files.filter((f) => f.path.startsWith(`backup/${B}/${full}/pg_data/base/`));
  assert.ok(pages.length > 100, `the full backup's relation files are in the repository (${pages.length})`);
  assert.ok(files.some((f) => f.path.startsWith(`archive/${B}/`) && /\/[0-9A-F]{24}-/.test(f.path)), 'archived WAL is in the repository');
  // Plain, they would start with an lz4 frame (04 22 4d 18) or, uncompressed, a page header.
  const plain = files.filter((f) => !isEncrypted(f));
  assert.deepEqual(plain.map((f) => `${f.path}: ${f.head.toString('hex')}`), [], 'every file starts with "Salted__"');

  const passphrase = readBackupPassphrase(paths, B);
  assert.ok(passphrase && passphrase.length >= 64);
  // On the repository host only root's config of the stanza holds it; a member holds none.
  const member = await execIn(docker, containerName(B, 'pg-0'), ['cat', PGBACKREST_CONFIG_PATH]);
  assert.equal(member.exitCode, 0, member.output);
  assert.ok(!member.output.includes(passphrase), 'a member\'s pgbackrest.conf holds no passphrase');
  const host = repositoryHostName(paths);
  const mode = await execIn(docker, host, ['stat', '-c', '%a %U', rootConfigPath(B)]);
  assert.equal(mode.output.trim(), '600 root', 'root\'s config of the stanza holds the passphrase: only root reads it');
  for (const c of [containerName(B, 'pg-0'), host]) {
    const inspect = JSON.stringify(await docker.getContainer(c).inspect());
    assert.ok(!inspect.includes(passphrase), `the passphrase is in no environment variable, command or label of ${c}`);
  }
});

test('backup verify: a restore drill of the newest backup (the incr on the diff on the full: the whole chain) into a scratch cluster, row counts as recorded, in the event log, nothing left', async () => {
  const e = childEnv(env, paths);
  // restore.test restores a cluster the user keeps, from --latest and --to-time; here the drill's restore checks the chain.
  const r = await runCli(['backup', 'verify', B], e);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /verified: restored in [\d.]+ s, 1 table, row counts match those recorded at backup time/);
  const events = JSON.parse((await runCli(['cluster', 'events', B, '--json'], e)).stdout) as { kind: string; message: string }[];
  assert.ok(events.some((ev) => ev.kind === 'restore-drill' && /restored in/.test(ev.message)), JSON.stringify(events.slice(-3)));
  assert.deepEqual((await clusterNames(localInventory(docker))).filter((n) => n.startsWith('vfy-')), [], 'the scratch cluster is gone');
});

test('bad input: unknown type, bad retention, --from-standby with --from-primary, unknown cluster: one line, exit 2, no new backup', async () => {
  const e = childEnv(env, paths);
  const count = (await list()).backups.length;
  for (const args of [
    ['backup', 'run', B, '--type', 'weekly'],
    ['backup', 'run', B, '--retention-full', '0'],
    ['backup', 'run', B, '--from-standby', '--from-primary'],
    ['backup', 'run', 't-nope'],
  ]) {
    const r = await runCli(args, e);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal((await list()).backups.length, count);
});

test('schedules: another cron updates the schedule in place (same id, creation time, paused state); a bad cron exits 2 and changes nothing', async () => {
  const e = childEnv(env, paths);
  const id = scheduleIds.backup(B, 'diff');
  const diffSchedule = async (): Promise<BackupScheduleView | undefined> => {
    const r = await runCli(['backup', 'schedule', 'list', B, '--json'], e);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as BackupScheduleView[]).find((v) => v.type === 'diff');
  };
  const made = await runCli(['backup', 'schedule', B, '--cron', '0 3 * * *', '--type', 'diff'], e);
  assert.equal(made.code, 0, made.stderr + made.stdout);
  const first = await describeSchedule(env.client, id);
  assert.ok(first);
  assert.equal(first.policies.catchupWindow, 6 * 3600_000, 'a backup missed while the server was down still runs hours later');
  assert.equal((await runCli(['backup', 'schedule', 'pause', B, '--type', 'diff'], e)).code, 0);

  const changed = await runCli(['backup', 'schedule', B, '--cron', '15 4 * * MON-FRI', '--type', 'diff'], e);
  assert.equal(changed.code, 0, changed.stderr + changed.stdout);
  assert.match(changed.stdout, /updated/);
  const second = await describeSchedule(env.client, id);
  assert.ok(second);
  assert.equal(second.info.createdAt.getTime(), first.info.createdAt.getTime(), 'updated in place, not deleted and created again');
  const v = await diffSchedule();
  assert.deepEqual([v?.id, v?.cron, v?.paused], [id, '15 4 * * MON-FRI', true]);
  assert.match(v?.nextRuns[0] ?? '', /T04:15:00/);

  for (const cron of ['61 3 * * *', '0 3 30 2 *', '0 3 * * 1#2', '0 3 * *']) {
    const r = await runCli(['backup', 'schedule', B, '--cron', cron, '--type', 'diff'], e);
    assert.equal(r.code, 2, `${cron}: ${r.stdout} ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    const after = await diffSchedule();
    assert.deepEqual([after?.cron, after?.paused], ['15 4 * * MON-FRI', true], `${cron} left the schedule as it was`);
  }
  assert.equal((await describeSchedule(env.client, id))?.info.createdAt.getTime(), first.info.createdAt.getTime());
  assert.equal((await runCli(['backup', 'schedule', 'delete', B, '--type', 'diff'], e)).code, 0);
});

test('schedules: made through the CLI, listed, trigger adds a backup with the ClusterName attribute, pause/resume/delete; DeleteCluster removes them', async () => {
  const e = childEnv(env, paths);
  const schedules = async (): Promise<BackupScheduleView[]> => {
    const r = await runCli(['backup', 'schedule', 'list', B, '--json'], e);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as BackupScheduleView[];
  };
  const bad = await runCli(['backup', 'schedule', B, '--cron', 'every night'], e);
  assert.equal(bad.code, 2, bad.stderr);
  assert.deepEqual(await schedules(), []);

  const made = await runCli(['backup', 'schedule', B, '--cron', '0 3 * * *', '--type', 'incr'], e);
  assert.equal(made.code, 0, made.stderr + made.stdout);
  assert.match(made.stdout, /created/);
  assert.match((await runCli(['backup', 'schedule', B, '--cron', '0 3 * * *', '--type', 'incr'], e)).stdout, /unchanged/);
  const [s] = await schedules();
  assert.deepEqual([s.type, s.cron, s.paused], ['incr', '0 3 * * *', false]);
  assert.match(s.nextRuns[0], /T03:00:00/);

  const count = (await list()).backups.length;
  assert.equal((await runCli(['backup', 'schedule', 'trigger', B], e)).code, 0);
  const deadline = Date.now() + 180_000;
  while ((await list()).backups.length === count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await list()).backups.length, count + 1, 'trigger produced a new backup');
  const started: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `ClusterName = "${B}" AND WorkflowType = "backup"` })) started.push(wf.workflowId);
  assert.ok(started.some((id) => id.startsWith(`backup:${B}:scheduled-incr`)), `scheduled workflow carries ClusterName: ${started.join(', ')}`);

  assert.equal((await runCli(['backup', 'schedule', 'pause', B], e)).code, 0);
  assert.equal((await schedules())[0].paused, true);
  assert.equal((await runCli(['backup', 'schedule', 'resume', B], e)).code, 0);
  assert.equal((await schedules())[0].paused, false);
  assert.equal((await runCli(['backup', 'schedule', 'delete', B], e)).code, 0);
  assert.deepEqual(await schedules(), []);

  assert.equal((await runCli(['backup', 'schedule', B, '--cron', '30 2 * * 0'], e)).code, 0);
  const del = await runCli(['cluster', 'delete', B, '--yes'], e);
  assert.equal(del.code, 0, del.stderr + del.stdout);
  assert.equal(await describeSchedule(env.client, scheduleIds.backup(B, 'full')), undefined, 'DeleteCluster removed the schedule');
});
