/**
 * A worker killed mid-operation must not matter: SIGKILL the worker (a child process) while
 * CreateCluster waits for the replicas, start a new worker, and the workflow completes with
 * exactly one container per member.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ChildProcess } from 'node:child_process';
import { TASK_QUEUE, replicaWorkflowIds, workflowIds } from '../../common/names';
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
const workers: ChildProcess[] = [];

before(async () => {
  await removeLeftoverTestClusters(docker);
  env = await startTestTemporal();
  paths = tempPaths();
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  const survivor = startChildWorker(env, paths, path.join(paths.home, 'worker-cleanup.log'));
  await runCli(['cluster', 'delete', C], childEnv(env, paths));
  survivor.kill('SIGTERM');
  await env?.teardown();
});

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
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const second = startChildWorker(env, paths, path.join(paths.home, 'worker-2.log'));
  workers.push(second);
  const info = (await handle.result()) as ConnectionInfo;
  assert.deepEqual(info.members, ['pg-0', 'pg-1', 'pg-2']);

  const byMember = await containersByMember(docker, C);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`] } });
  assert.equal((vols.Volumes ?? []).length, 4, 'one volume per member (3 postgres + 1 etcd)');

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
  const current = workers[workers.length - 1];
  const handle = await env.client.workflow.start('addReplica', {
    taskQueue: TASK_QUEUE,
    workflowId: replicaWorkflowIds.add(C, 'pg-3'),
    args: [{ cluster: C, member: 'pg-3', readOnly: false, cloneMethod: 'basebackup' }],
    typedSearchAttributes: [{ key: clusterNameKey, value: C }],
  });
  await waitForStep(handle, 'wait for pg-3 streaming', 60_000);
  current.kill('SIGKILL');
  await new Promise((r) => current.once('exit', r));
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-3.log')));
  const r = (await handle.result()) as AddReplicaResult;
  assert.equal(r.member, 'pg-3');
  const byMember = await containersByMember(docker, C);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pg-3': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${C}`, 'dbaas.member=pg-3'] } });
  assert.equal((vols.Volumes ?? []).length, 1, 'exactly one volume for the new member');
  workers[workers.length - 1].kill('SIGTERM');
});
