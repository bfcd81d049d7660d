/** AddPoolers decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import type { Fake } from '../helpers/fake-activities';
import type { AddPoolersResult } from '../../workflows/addPoolers';

let env: TestWorkflowEnvironment;

/** The pooler containers the fake cluster has at the end of a run. */
const poolers = (f: Fake): string[] => [...f.world.containers].filter((c) => c.startsWith('pgbouncer-')).sort();

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

test('AddPoolers: credential, lookup function, both poolers sized for the leader\'s max_connections, then a query through each', async () => {
  const { f, error, result } = await runWithFakes(env, 'addPoolers', 'orders');
  assert.equal(error, undefined);
  assert.deepEqual(f.names().filter((n) => n !== 'poolerContainers'), [
    'describeCluster', 'ensureClusterSecrets', 'ensurePoolerAuth', 'poolerSizes', 'startPgbouncer', 'startPgbouncer', 'verifyPooledEndpoints',
  ]);
  for (const c of f.calls.filter((x) => x.name === 'startPgbouncer')) assert.deepEqual((c.arg as { pool?: unknown }).pool, { defaultPoolSize: 40, reservePoolSize: 5 });
  assert.deepEqual((result as AddPoolersResult).created, ['pgbouncer-ro', 'pgbouncer-rw']);
  assert.deepEqual(poolers(f), ['pgbouncer-ro', 'pgbouncer-rw']);
});

test('AddPoolers on a cluster that has both poolers reports none created', async () => {
  const { error, result } = await runWithFakes(env, 'addPoolers', 'orders', { existing: { containers: ['pgbouncer-ro', 'pgbouncer-rw'] } });
  assert.equal(error, undefined);
  assert.deepEqual((result as AddPoolersResult).created, []);
});

test('AddPoolers refuses a cluster without a leader before changing anything', async () => {
  const { f, error } = await runWithFakes(env, 'addPoolers', 'orders', { describe: { leader: null } });
  assert.equal(rootCause(error).type, 'MemberRefused');
  assert.match(rootCause(error).message, /has no leader/);
  assert.deepEqual(f.names(), ['describeCluster']);
});

test('AddPoolers that fails for good removes the poolers it started', async () => {
  const { f, error } = await runWithFakes(env, 'addPoolers', 'orders', { failOn: { verifyPooledEndpoints: 'Boom' } });
  assert.equal(rootCause(error).type, 'Boom');
  const removal = f.calls.find((c) => c.name === 'removePoolers');
  assert.deepEqual(removal?.arg, { cluster: 'orders', members: ['pgbouncer-ro', 'pgbouncer-rw'] });
  assert.deepEqual(poolers(f), [], 'nothing half-created is left');
});

test('AddPoolers that fails for good keeps a pooler that was there before it', async () => {
  const { f, error } = await runWithFakes(env, 'addPoolers', 'orders', {
    existing: { containers: ['pgbouncer-rw'] }, failOn: { verifyPooledEndpoints: 'Boom' },
  });
  assert.equal(rootCause(error).type, 'Boom');
  const removal = f.calls.find((c) => c.name === 'removePoolers');
  assert.deepEqual(removal?.arg, { cluster: 'orders', members: ['pgbouncer-ro'] });
  assert.deepEqual(poolers(f), ['pgbouncer-rw'], 'the existing pooler is kept');
});
