/** AddPoolers decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

test('AddPoolers: credential, lookup function, both poolers, then a query through each', async () => {
  const { f, error } = await runWithFakes(env, 'addPoolers', 'orders');
  assert.equal(error, undefined);
  assert.deepEqual(f.names().filter((n) => n !== 'poolerContainers'), [
    'describeCluster', 'ensureClusterSecrets', 'ensurePoolerAuth', 'startPgbouncer', 'startPgbouncer', 'verifyPooledEndpoints',
  ]);
});

test('AddPoolers refuses a cluster without a leader before changing anything', async () => {
  const { f, error } = await runWithFakes(env, 'addPoolers', 'orders', { describe: { leader: null } });
  assert.equal(rootCause(error).type, 'MemberRefused');
  assert.match(rootCause(error).message, /has no leader/);
  assert.deepEqual(f.names(), ['describeCluster']);
});

test('AddPoolers that fails for good removes only the poolers it started', async () => {
  const { f, error } = await runWithFakes(env, 'addPoolers', 'orders', { failOn: { verifyPooledEndpoints: 'Boom' } });
  assert.equal(rootCause(error).type, 'Boom');
  const removal = f.calls.find((c) => c.name === 'removePoolers');
  assert.deepEqual(removal?.arg, { cluster: 'orders', members: [] });
});
