/**
 * A worker killed mid-operation must not matter: SIGKILL the worker (a child process) while
 * CreateCluster waits for the replicas (or AddReplica clones, a backup runs, a restore helper
 * restores, backup enable switches over), start a new worker, and the workflow completes with
 * exactly one container per member and one backup or restore. Each test kills only once a worker
 * has picked up the step it aims at, and proves from the history that this step was retried
 * (its final attempt ≥ 2): Temporal schedules a retried activity once, so counting scheduled
 * events says nothing about a retry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ChildProcess } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { LABEL_CLUSTER, LABEL_MEMBER, LABEL_ROLE, mountsRepository } from '../../common/labels';
import { PATRONI_API_PORT } from '../../common/service-ports';
import { TASK_QUEUE } from '../../common/task-queues';
import { containerName } from '../../common/resource-names';
import { backupWorkflowIds, haWorkflowIds, replicaWorkflowIds, restoreWorkflowIds, workflowIds } from '../../common/workflow-ids';
import type { BackupSummary, EnableBackupsResult, StanzaSummary } from '../../common/backup';
import { execIn } from '../../activities/docker';
import { removeRepositoryHost, repositoryHostName } from '../../activities/repository-host/host';
import type { AddReplicaResult } from '../../common/replicas';
import type { LeaseState } from '../../common/lease';
import type { Paths } from '../../common/paths';
import type { ConnectionInfo } from '../../common/spec';
import { clusterNameKey } from '../../common/search-attributes';
import { startTestTemporal } from '../helpers/temporal';
import { waitForExit } from '../helpers/deadline';
import { describeTarget, highestAttempt, retriedActivities, waitForActivityStarted, type ActivityTarget } from '../helpers/history';
import {
  childEnv, containersByMember, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, memberIp, testClusterName,
} from '../helpers/integration';

let env: TestWorkflowEnvironment;
let paths: Paths;
const docker = new Docker();
const C = testClusterName('crash');
const R = testClusterName('crashr');
const E = testClusterName('crashe');
const workers: ChildProcess[] = [];
/** pgbench scale of the backup test's data (100 000 accounts per unit): a backup of it runs for seconds. */
const PGBENCH_SCALE = 20;

before(async () => {
  await removeLeftoverTestClusters(docker);
  env = await startTestTemporal();
  paths = tempPaths();
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  const survivor = startChildWorker(env, paths, path.join(paths.home, 'worker-cleanup.log'));
  for (const c of [E, R, C]) await runCli(['cluster', 'delete', c, '--purge-backups', '--yes'], childEnv(env, paths));
  survivor.kill('SIGTERM');
  await removeRepositoryHost(docker, paths);
  await env?.teardown();
});

async function waitFor(what: string, probe: () => Promise<true | undefined>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILL the newest worker, wait for it to die, start a new one; returns the moment of the kill. */
async function killWorkerAndStartAnother(log: string): Promise<number> {
  const current = workers[workers.length - 1];
  current.kill('SIGKILL');
  const killedAt = Date.now();
  await waitForExit(current, 30_000, 'the SIGKILLed worker did not exit');
  workers.push(startChildWorker(env, paths, path.join(paths.home, log)));
  return killedAt;
}

/** The kill hit `target`: it ended on attempt 2 or later (a new worker ran it again). Printed for the closing notes. */
async function assertRetried(handle: WorkflowHandle, target: ActivityTarget): Promise<void> {
  const attempt = await highestAttempt(handle, target);
  console.log(`${handle.workflowId}: ${describeTarget(target)} ended on attempt ${attempt}; retried: ${(await retriedActivities(handle)).join(', ')}`);
  assert.ok(attempt >= 2, `${describeTarget(target)} was retried after the kill (final attempt ${attempt})`);
}

/** Printed for the closing notes: how long the operation took to end after its worker was killed. */
function reportResume(killedAt: number): void {
  console.log(`finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the SIGKILL`);
}

test('SIGKILL of the worker while CreateCluster waits for the replicas: a new worker finishes it', async () => {
  const first = startChildWorker(env, paths, path.join(paths.home, 'worker-1.log'));
  workers.push(first);
  const handle = await env.client.workflow.start('createCluster', {
    taskQueue: TASK_QUEUE,
    workflowId: workflowIds.createCluster(C),
    // default profile: the replicas' wait is long enough (slot creation on the leader's 10 s loop) to kill into.
    // Its backups on the repository host: the backup below runs there, reading the standby, and the restore reads from there.
    // PostgreSQL 15 (part of the 15 lane, see postgres15.test.ts): the crash points are the same on both versions.
    args: [{ name: C, replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false, backupTo: { location: { type: 'host' } }, postgresVersion: 15 }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  const target = { type: 'waitForReplicaStreaming', inputIncludes: '"member":"pg-1"' };
  await waitForActivityStarted(handle, target, 120_000);
  const killedAt = await killWorkerAndStartAnother('worker-2.log');
  const info = (await handle.result()) as ConnectionInfo;
  reportResume(killedAt);
  assert.deepEqual(info.members, ['pg-0', 'pg-1', 'pg-2']);

  const byMember = await containersByMember(docker, C);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, metrics: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`] } });
  assert.equal((vols.Volumes ?? []).length, 4, 'one volume per member (3 postgres + 1 etcd), none for the repository (on the repository host)');

  await assertRetried(handle, target);
  // Not about the retry (a retry is never a new schedule): the workflow itself asked for each member once.
  const scheduledPg = ((await handle.fetchHistory()).events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startPostgresMember',
  );
  assert.equal(scheduledPg.length, 3, 'the workflow started each member once');
});

test('SIGKILL of the worker while AddReplica holds the lease and waits for the clone: a new worker finishes it, one new member, then the queued operation runs', async () => {
  const handle = await env.client.workflow.start('addReplica', {
    taskQueue: TASK_QUEUE,
    workflowId: replicaWorkflowIds.add(C, 'pg-3'),
    args: [{ cluster: C, member: 'pg-3', readOnly: false, cloneMethod: 'basebackup' }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  const target = { type: 'waitForReplicaStreaming', inputIncludes: '"member":"pg-3"' };
  await waitForActivityStarted(handle, target, 60_000);
  // An operation queued behind the one that holds the lease when its worker dies.
  const queued = await env.client.workflow.start('setSync', {
    taskQueue: TASK_QUEUE, workflowId: haWorkflowIds.setSync(C), args: [{ cluster: C, mode: 'off' }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  const lease = env.client.workflow.getHandle(`cluster-lease:${C}`);
  await waitFor('set-sync to queue behind add-replica', async () => {
    const st = await lease.query<LeaseState>('leaseState').catch(() => undefined);
    return st?.holders[0]?.operation === 'add-replica' && st.queue.some((q) => q.operation === 'set-sync') ? true : undefined;
  });
  const killedAt = await killWorkerAndStartAnother('worker-3.log');
  const r = (await handle.result()) as AddReplicaResult;
  reportResume(killedAt);
  assert.equal(r.member, 'pg-3');
  await queued.result();
  const [added, synced] = await Promise.all([handle.describe(), queued.describe()]);
  assert.ok(synced.closeTime! >= added.closeTime!, 'the queued operation ran after the one that held the lease, on the new worker');
  const byMember = await containersByMember(docker, C);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, metrics: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pg-3': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`, 'dbaas.member=pg-3'] } });
  assert.equal((vols.Volumes ?? []).length, 1, 'exactly one volume for the new member');
  await assertRetried(handle, target);
  workers[workers.length - 1].kill('SIGTERM');
});

test('SIGKILL of the worker during a backup on the repository host, from the standby: a new worker finishes the workflow, exactly one new backup', async () => {
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-4.log')));
  const e = childEnv(env, paths);
  const status = JSON.parse((await runCli(['cluster', 'status', C, '--json'], e)).stdout) as { members: { name: string; role: string }[] };
  const leader = status.members.find((m) => m.role === 'leader')?.name ?? 'pg-0';
  // About 300 MB: the backup runs for seconds, and the test checks it still runs after the kill.
  const init = await execIn(docker, containerName(C, leader), ['pgbench', '-i', '-q', '-s', String(PGBENCH_SCALE), '-h', '/var/run/postgresql', 'postgres']);
  assert.equal(init.exitCode, 0, init.output);
  const list = async (): Promise<StanzaSummary> => JSON.parse((await runCli(['backup', 'list', C, '--json'], e)).stdout) as StanzaSummary;
  const before = (await list()).backups.length;

  const handle = await env.client.workflow.start('backup', {
    taskQueue: TASK_QUEUE,
    workflowId: backupWorkflowIds.backup(C, 'crash'),
    args: [{ cluster: C, type: 'full', fromStandby: false }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  // A backup that reads a standby's files (the workflow picked one).
  const target = { type: 'runBackup', inputIncludes: '"standby":"pg-' };
  await waitForActivityStarted(handle, target, 60_000);
  // The step runs, and so does pgBackRest on the repository host: the kill lands mid-backup.
  const deadline = Date.now() + 60_000;
  while (!(await backupProcessRunning())) {
    assert.ok(Date.now() < deadline, 'pgBackRest never started the backup');
    await new Promise((r) => setTimeout(r, 100));
  }
  const killedAt = await killWorkerAndStartAnother('worker-5.log');
  assert.ok(await backupProcessRunning(), 'the backup still runs after the kill (it could not have finished before it)');
  const b = (await handle.result()) as BackupSummary;
  reportResume(killedAt);
  console.log(`the backup took ${b.durationS} s`);
  const after = await list();
  assert.equal(after.backups.length, before + 1, 'exactly one new backup');
  assert.equal(after.backups[after.backups.length - 1].label, b.label);
  await assertRetried(handle, target);
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
  assert.ok(await helper.inspect().then((i) => i.State.Running, () => false), 'the helper still runs after the kill');
  await handle.result();
  reportResume(killedAt);

  const count = await execIn(docker, containerName(R, 'pg-0'), ['psql', '-h', '/var/run/postgresql', '-d', 'postgres', '-XAtc', 'select count(*) from pgbench_accounts']);
  assert.equal(count.output.trim(), String(PGBENCH_SCALE * 100_000), 'every row of the source');
  assert.deepEqual(Object.fromEntries([...(await containersByMember(docker, R))].sort()), { 'etcd-0': 1, haproxy: 1, metrics: 1, 'pg-0': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 }, 'one container per member, the helper removed');
  // The helper is made by the child CreateCluster's restore step.
  await assertRetried(env.client.workflow.getHandle(workflowIds.createCluster(R)), { type: 'restoreMemberData' });
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

  const timelinesBefore = await timelineSwitches(E, 'pg-0');
  const handle = await env.client.workflow.start('enableBackups', {
    taskQueue: TASK_QUEUE,
    workflowId: backupWorkflowIds.enable(E),
    args: [{ cluster: E }],
    typedSearchAttributes: [{ key: clusterNameKey, value: E }],
  });
  // pg-1 is re-created by then; the kill lands in the child switchover's request to Patroni, with pg-0 still to move.
  const child = env.client.workflow.getHandle(haWorkflowIds.switchover(E, 'enable-backups'));
  const target = { type: 'requestSwitchover' };
  await waitForActivityStarted(child, target, 180_000);
  const killedAt = await killWorkerAndStartAnother('worker-9.log');
  const r = (await handle.result()) as EnableBackupsResult;
  reportResume(killedAt);
  assert.deepEqual(r, { cluster: E, recreated: ['pg-1', 'pg-0'], leader: 'pg-1' });

  assert.deepEqual(
    Object.fromEntries([...(await containersByMember(docker, E))].sort()),
    { 'etcd-0': 1, haproxy: 1, metrics: 1, 'pg-0': 1, 'pg-1': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 },
    'one container per member',
  );
  const pgs = await docker.listContainers({ filters: { label: [`${LABEL_CLUSTER}=${E}`, `${LABEL_ROLE}=postgres`] } });
  for (const c of pgs) assert.ok(mountsRepository(c, E), `${c.Labels[LABEL_MEMBER]} runs and mounts the repository`);
  assert.equal(pgs.length, 2);
  const status = JSON.parse((await runCli(['cluster', 'status', E, '--json'], e)).stdout) as { backups: string; members: { name: string; role: string }[] };
  assert.equal(status.backups, 'on');
  const count = await execIn(docker, containerName(E, 'pg-1'), ['psql', '-h', '/var/run/postgresql', '-d', 'postgres', '-XAtc', 'select count(*) from kept']);
  assert.equal(count.output.trim(), '500', 'the rows are kept');
  await assertRetried(child, target);
  assert.equal(await timelineSwitches(E, 'pg-1'), timelinesBefore + 1, 'exactly one switchover, though its request step ran twice');
  // Not about the retry: the workflow itself asked for each member's re-creation once.
  const replaced = ((await handle.fetchHistory()).events ?? []).filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'replacePostgresMember');
  assert.equal(replaced.length, 2, 'the workflow re-created each member once');
  workers[workers.length - 1].kill('SIGTERM');
});

/** A `…/pgbackrest … backup` process on the repository host (root runs the stanza's pgBackRest by its path; read /proc). */
async function backupProcessRunning(): Promise<boolean> {
  const r = await execIn(docker, repositoryHostName(paths), [
    'sh', '-c', "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done 2>/dev/null | grep -q '^/[^ ]*pgbackrest .* backup $'",
  ]);
  return r.exitCode === 0;
}

/** How many timeline switches the member's Patroni has seen (GET /history). */
async function timelineSwitches(cluster: string, member: string): Promise<number> {
  const ip = await memberIp(docker, cluster, member);
  return ((await (await fetch(`http://${ip}:${PATRONI_API_PORT}/history`)).json()) as unknown[]).length;
}
