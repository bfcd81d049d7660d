/** AddAppRole decision logic with fake activities on a real Temporal dev server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';
import type { AddAppRoleResult } from '../../workflows/addAppRole';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

test('AddAppRole on a cluster with poolers: the role and database, then the lookup function (into database app too)', async () => {
  const { f, error, result, progress } = await runWithFakes(env, 'addAppRole', 'orders', { existing: { containers: ['pgbouncer-ro', 'pgbouncer-rw'] } });
  assert.equal(error, undefined);
  assert.deepEqual(f.names(), ['describeCluster', 'poolerContainers', 'ensureAppRole', 'ensurePoolerAuth']);
  assert.deepEqual(f.calls.find((c) => c.name === 'ensureAppRole')?.arg, { cluster: 'orders', rwPort: 25432 });
  assert.deepEqual(result as AddAppRoleResult, { cluster: 'orders', databaseCreated: true, passwordSet: true });
  assert.ok(progress.steps.every((s) => s.state === 'done'), JSON.stringify(progress.steps));
});

test('AddAppRole on a cluster without poolers skips the lookup function, saying why', async () => {
  const { f, error, progress } = await runWithFakes(env, 'addAppRole', 'orders');
  assert.equal(error, undefined);
  assert.ok(!f.names().includes('ensurePoolerAuth'));
  const skipped = progress.steps.find((s) => s.state === 'skipped');
  assert.match(skipped?.detail ?? '', /no poolers/);
});

test('AddAppRole refuses a cluster without a leader before changing anything', async () => {
  const { f, error } = await runWithFakes(env, 'addAppRole', 'orders', { describe: { leader: null } });
  assert.equal(rootCause(error).type, 'MemberRefused');
  assert.match(rootCause(error).message, /has no leader/);
  assert.deepEqual(f.names(), ['describeCluster']);
});
