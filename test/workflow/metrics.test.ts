/** AddMetrics decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import type { AddMetricsResult } from '../../workflows/addMetrics';

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
