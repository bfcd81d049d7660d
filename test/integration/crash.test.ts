/**
 * A worker killed mid-operation must not matter: SIGKILL the worker (a child process) while
 * CreateCluster waits for the replicas (or AddReplica clones, a backup runs, a restore helper
 * restores, backup enable switches over), start a new worker, and the workflow completes with
 * exactly one container per member and one backup or restore.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ChildProcess } from 'node:child_process';
import {
  LABEL_CLUSTER, LABEL_MEMBER, LABEL_ROLE, TASK_QUEUE, backupWorkflowIds, containerName, mountsRepository, replicaWorkflowIds, restoreWorkflowIds, workflowIds,
} from '../../common/names';
import type { BackupSummary, EnableBackupsResult, StanzaSummary } from '../../common/backup';
import { execIn } from '../../activities/docker';
import type { AddReplicaResult } from '../../common/replicas';
import type { Paths } from '../../common/paths';
import type { Progress } from '../../common/progress';
import type { ConnectionInfo } from '../../common/spec';
import { clusterNameKey } from '../../common/search-attributes';
import { startTestTemporal } from '../helpers/temporal';
import {
  childEnv, containersByMember, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, testClusterName,
} from '../helpers/integration';

let env: TestWorkflowEnvironment;
let paths: Paths;
const docker = new Docker();
const C = testClusterName('crash');
const R = testClusterName('crashr');
const E = testClusterName('crashe');
const workers: ChildProcess[] = [];

before(async () => {
  await removeLeftoverTestClusters(docker);
  env = await startTestTemporal();
  paths = tempPaths();
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  const survivor = startChildWorker(env, paths, path.join(paths.home, 'worker-cleanup.log'));
  for (const c of [E, R, C]) await runCli(['cluster', 'delete', c], childEnv(env, paths));
  survivor.kill('SIGTERM');
  await env?.teardown();
});

/** SIGKILL the newest worker, wait for it to die, start a new one; returns the moment of the kill. */
async function killWorkerAndStartAnother(log: string): Promise<number> {
  const current = workers[workers.length - 1];
  current.kill('SIGKILL');
  const killedAt = Date.now();
  await new Promise((r) => current.once('exit', r));
  workers.push(startChildWorker(env, paths, path.join(paths.home, log)));
  return killedAt;
}

/** Printed for the closing notes: how long the operation took to end after its worker was killed. */
function reportResume(killedAt: number): void {
  console.log(`finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the SIGKILL`);
}

async function waitForStep(handle: { query: <T>(q: string) => Promise<T> }, step: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const p = await handle.query<Progress>('progress');
      if (p.steps.some((s) => s.name === step && s.state === 'running')) return;
    } catch {
      // no worker has answered yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`step "${step}" never started running`);
}

test('SIGKILL of the worker while CreateCluster waits for the replicas: a new worker finishes it', async () => {
  const first = startChildWorker(env, paths, path.join(paths.home, 'worker-1.log'));
  workers.push(first);
  const handle = await env.client.workflow.start('createCluster', {
    taskQueue: TASK_QUEUE,
    workflowId: workflowIds.createCluster(C),
    // default profile: the replicas' wait is long enough (slot creation on the leader's 10 s loop) to kill into.
    args: [{ name: C, replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  await waitForStep(handle, 'wait for pg-1 streaming', 120_000);
  const killedAt = await killWorkerAndStartAnother('worker-2.log');
  const info = (await handle.result()) as ConnectionInfo;
  reportResume(killedAt);
  assert.deepEqual(info.members, ['pg-0', 'pg-1', 'pg-2']);

  const byMember = await containersByMember(docker, C);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`] } });
  assert.equal((vols.Volumes ?? []).length, 5, 'one volume per member (3 postgres + 1 etcd) and the backup repository');

  // The history shows the wait was retried on the new worker (attempt > 1), not restarted from scratch.
  const history = await handle.fetchHistory();
  const starts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
  assert.ok(starts.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1), 'an activity was retried after the kill');
  const scheduledPg = (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startPostgresMember',
  );
  assert.equal(scheduledPg.length, 3, 'each member was scheduled once');
});

test('SIGKILL of the worker while AddReplica waits for the clone: a new worker finishes it, one new member', async () => {
  const handle = await env.client.workflow.start('addReplica', {
    taskQueue: TASK_QUEUE,
    workflowId: replicaWorkflowIds.add(C, 'pg-3'),
    args: [{ cluster: C, member: 'pg-3', readOnly: false, cloneMethod: 'basebackup' }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  await waitForStep(handle, 'wait for pg-3 streaming', 60_000);
  const killedAt = await killWorkerAndStartAnother('worker-3.log');
  const r = (await handle.result()) as AddReplicaResult;
  reportResume(killedAt);
  assert.equal(r.member, 'pg-3');
  const byMember = await containersByMember(docker, C);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pg-3': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`, 'dbaas.member=pg-3'] } });
  assert.equal((vols.Volumes ?? []).length, 1, 'exactly one volume for the new member');
  workers[workers.length - 1].kill('SIGTERM');
});

test('SIGKILL of the worker during a backup: a new worker finishes the workflow, exactly one new backup', async () => {
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-4.log')));
  const e = childEnv(env, paths);
  const status = JSON.parse((await runCli(['cluster', 'status', C, '--json'], e)).stdout) as { members: { name: string; role: string }[] };
  const leader = status.members.find((m) => m.role === 'leader')?.name ?? 'pg-0';
  // About 150 MB, so the backup runs for a few seconds.
  const init = await execIn(docker, containerName(C, leader), ['pgbench', '-i', '-q', '-s', '10', '-h', '/var/run/postgresql', 'postgres']);
  assert.equal(init.exitCode, 0, init.output);
  const list = async (): Promise<StanzaSummary> => JSON.parse((await runCli(['backup', 'list', C, '--json'], e)).stdout) as StanzaSummary;
  const before = (await list()).backups.length;

  const handle = await env.client.workflow.start('backup', {
    taskQueue: TASK_QUEUE,
    workflowId: backupWorkflowIds.backup(C, 'crash'),
    args: [{ cluster: C, type: 'full', fromStandby: false }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  await waitForStep(handle, `run the full backup (on the leader, ${leader})`, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  const killedAt = await killWorkerAndStartAnother('worker-5.log');
  const b = (await handle.result()) as BackupSummary;
  reportResume(killedAt);
  const after = await list();
  assert.equal(after.backups.length, before + 1, 'exactly one new backup');
  assert.equal(after.backups[after.backups.length - 1].label, b.label);
  const history = await handle.fetchHistory();
  const runs = (history.events ?? []).filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'runBackup');
  assert.equal(runs.length, 1, 'the backup step was scheduled once (and retried, not restarted)');
  workers[workers.length - 1].kill('SIGTERM');
});

test('SIGKILL of the worker while the restore helper runs: a new worker finishes the restore, one helper, all the data', async () => {
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-6.log')));
  const handle = await env.client.workflow.start('restorePitr', {
    taskQueue: TASK_QUEUE,
    workflowId: restoreWorkflowIds.restore(C, R),
    args: [{ source: C, into: R, target: { kind: 'latest' }, replicas: 0, sync: false, profile: 'fast', etcdMembers: 1, firstBackup: false }],
    typedSearchAttributes: [{ key: clusterNameKey, value: R }],
  });
  const helper = docker.getContainer(containerName(R, 'restore'));
  const deadline = Date.now() + 120_000;
  while (!(await helper.inspect().then((i) => i.State.Running, () => false))) {
    assert.ok(Date.now() < deadline, 'the restore helper never ran');
    await new Promise((r) => setTimeout(r, 50));
  }
  const killedAt = await killWorkerAndStartAnother('worker-7.log');
  await handle.result();
  reportResume(killedAt);

  const count = await execIn(docker, containerName(R, 'pg-0'), ['psql', '-h', '/var/run/postgresql', '-d', 'postgres', '-XAtc', 'select count(*) from pgbench_accounts']);
  assert.equal(count.output.trim(), '1000000', 'every row of the source');
  assert.deepEqual(Object.fromEntries([...(await containersByMember(docker, R))].sort()), { 'etcd-0': 1, haproxy: 1, 'pg-0': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 }, 'one container per member, the helper removed');
  const child = await env.client.workflow.getHandle(workflowIds.createCluster(R)).fetchHistory();
  const runs = (child.events ?? []).filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'restoreMemberData');
  assert.equal(runs.length, 1, 'the restore step was scheduled once (and retried, not restarted)');
  workers[workers.length - 1].kill('SIGTERM');
});

test('SIGKILL of the worker while backup enable switches over: a new worker finishes it, each member re-created once', async () => {
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-8.log')));
  const e = childEnv(env, paths);
  const made = await runCli(['cluster', 'create', E, '--replicas', '1', '--profile', 'fast', '--no-backups'], e);
  assert.equal(made.code, 0, made.stderr + made.stdout);
  const rows = await execIn(docker, containerName(E, 'pg-0'), [
    'psql', '-h', '/var/run/postgresql', '-d', 'postgres', '-XAtc', 'create table kept (id int primary key); insert into kept select generate_series(1, 500)',
  ]);
  assert.equal(rows.exitCode, 0, rows.output);

  const handle = await env.client.workflow.start('enableBackups', {
    taskQueue: TASK_QUEUE,
    workflowId: backupWorkflowIds.enable(E),
    args: [{ cluster: E }],
    typedSearchAttributes: [{ key: clusterNameKey, value: E }],
  });
  // pg-1 is re-created by now; the kill lands in the child switchover, with pg-0 still to move.
  await waitForStep(handle, 'switch over from pg-0 (child workflow)', 120_000);
  const killedAt = await killWorkerAndStartAnother('worker-9.log');
  const r = (await handle.result()) as EnableBackupsResult;
  reportResume(killedAt);
  assert.deepEqual(r, { cluster: E, recreated: ['pg-1', 'pg-0'], leader: 'pg-1' });

  assert.deepEqual(
    Object.fromEntries([...(await containersByMember(docker, E))].sort()),
    { 'etcd-0': 1, haproxy: 1, 'pg-0': 1, 'pg-1': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 },
    'one container per member',
  );
  const pgs = await docker.listContainers({ filters: { label: [`${LABEL_CLUSTER}=${E}`, `${LABEL_ROLE}=postgres`] } });
  for (const c of pgs) assert.ok(mountsRepository(c, E), `${c.Labels[LABEL_MEMBER]} runs and mounts the repository`);
  assert.equal(pgs.length, 2);
  const status = JSON.parse((await runCli(['cluster', 'status', E, '--json'], e)).stdout) as { backups: string; members: { name: string; role: string }[] };
  assert.equal(status.backups, 'on');
  const count = await execIn(docker, containerName(E, 'pg-1'), ['psql', '-h', '/var/run/postgresql', '-d', 'postgres', '-XAtc', 'select count(*) from kept']);
  assert.equal(count.output.trim(), '500', 'the rows are kept');
  const history = await handle.fetchHistory();
  const replaced = (history.events ?? []).filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'replacePostgresMember');
  assert.equal(replaced.length, 2, 'each member was re-created once');
  workers[workers.length - 1].kill('SIGTERM');
});
