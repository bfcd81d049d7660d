/** AddMetrics decision logic, and a create whose exporters do not start, with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import type { AddMetricsResult } from '../../workflows/addMetrics';
import type { ConnectionInfo, CreateClusterInput } from '../../common/spec';
import type { WorkflowHandle } from '@temporalio/client';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

test('AddMetrics: credential, monitor role, the poolers\' stats user, the container, then a probe', async () => {
  const { f, error, result } = await runWithFakes(env, 'addMetrics', 'orders');
  assert.equal(error, undefined);
  assert.deepEqual(f.names().filter((n) => n !== 'metricsHosts'), [
    'describeCluster', 'placementHosts', 'ensureClusterSecrets', 'ensureMonitorRole', 'addPoolerStatsUser', 'startMetrics', 'verifyMetrics',
  ]);
  assert.deepEqual(f.calls.find((c) => c.name === 'verifyMetrics')?.arg, { cluster: 'orders', member: 'pg-0' });
  assert.deepEqual(result as AddMetricsResult, { cluster: 'orders', hosts: ['local'], created: ['local'] });
});

test('AddMetrics on a cluster that has them reports none created', async () => {
  const { error, result } = await runWithFakes(env, 'addMetrics', 'orders', { existing: { containers: ['metrics'] } });
  assert.equal(error, undefined);
  assert.deepEqual((result as AddMetricsResult).created, []);
});

test('AddMetrics refuses a cluster without a leader before changing anything', async () => {
  const { f, error } = await runWithFakes(env, 'addMetrics', 'orders', { describe: { leader: null } });
  assert.equal(rootCause(error).type, 'MemberRefused');
  assert.match(rootCause(error).message, /has no leader/);
  assert.deepEqual(f.names(), ['describeCluster']);
});

test('AddMetrics that fails for good removes the container it started', async () => {
  const { f, error } = await runWithFakes(env, 'addMetrics', 'orders', { failOn: { verifyMetrics: 'Boom' } });
  assert.equal(rootCause(error).type, 'Boom');
  assert.deepEqual(f.calls.find((c) => c.name === 'removeMetrics')?.arg, { cluster: 'orders', hosts: ['local'] });
  assert.ok(!f.world.containers.has('metrics'), 'nothing half-created is left');
});

const METRICS_STEP = 'start the exporters (monitor role, a metrics container beside each HAProxy, probed)';
const spec: CreateClusterInput = { name: 'orders', replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false };

test('CreateCluster whose exporters do not start still creates the cluster: the step failed, its container removed, the result says why and how to add them', async () => {
  let handle: WorkflowHandle | undefined;
  const { f, error, result, progress } = await runWithFakes(env, 'createCluster', spec, { failOn: { verifyMetrics: 'Boom' } }, { whileRunning: async (h) => void (handle = h) });
  assert.equal(error, undefined, 'the create succeeds');
  const info = result as ConnectionInfo;
  assert.equal(info.metricsProblem, 'verifyMetrics failed (injected)');
  assert.deepEqual(info.members, ['pg-0', 'pg-1', 'pg-2']);
  assert.deepEqual(f.calls.find((c) => c.name === 'removeMetrics')?.arg, { cluster: 'orders', hosts: ['local'] });
  assert.ok(!f.world.containers.has('metrics'), 'no half-working metrics container is left');
  assert.ok(f.world.containers.has('pg-0') && f.world.containers.has('pgbouncer-rw'), 'the cluster is kept');
  const names = f.names();
  assert.ok(!names.includes('removeCluster') && !names.includes('releasePorts'), 'nothing is compensated');
  assert.ok(names.includes('createStanza'));
  const step = progress.steps.find((s) => s.name === METRICS_STEP);
  assert.equal(step?.state, 'failed', 'the step shows as failed');
  assert.equal(step?.detail, 'metrics: not running (verifyMetrics failed (injected)); run `dbaas cluster add-metrics orders`');
  assert.ok(progress.steps.filter((s) => s.name !== METRICS_STEP).every((s) => s.state === 'done'), JSON.stringify(progress.steps));
  // A failed activity the workflow caught: the history (the Web UI) shows it.
  const history = await handle!.fetchHistory();
  assert.ok(history.events?.some((e) => e.activityTaskFailedEventAttributes), 'an ActivityTaskFailed event');
});

test('CreateCluster whose monitor role cannot be made also goes on without metrics', async () => {
  const { f, error, result } = await runWithFakes(env, 'createCluster', spec, { failOn: { ensureMonitorRole: 'Boom' } });
  assert.equal(error, undefined);
  assert.equal((result as ConnectionInfo).metricsProblem, 'ensureMonitorRole failed (injected)');
  assert.ok(!f.names().includes('startMetrics'));
  assert.ok(f.names().includes('removeMetrics'));
});

test('CreateCluster whose exporters start says nothing about metrics in its result', async () => {
  const { error, result } = await runWithFakes(env, 'createCluster', spec);
  assert.equal(error, undefined);
  assert.equal((result as ConnectionInfo).metricsProblem, undefined);
});
