/** Stored passwords of users' roles (activities/role-secrets.ts): one per operation, beside the cluster's own, gone with the role. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths } from '../../common/paths';
import { createSecretsActivities, readClusterSecrets } from '../../activities/secrets';
import { ensureRolePassword, forgetRolePassword, storedRole } from '../../activities/role-secrets';

test('a role password is made once per operation, kept beside the cluster secrets (0600), and forgotten with the role', async () => {
  const paths = resolvePaths({ ...process.env, DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-role-secrets-')) });
  await createSecretsActivities(paths).ensureClusterSecrets('orders');
  const superuser = readClusterSecrets(paths, 'orders').superuser;

  const first = ensureRolePassword(paths, 'orders', 'alice', 'run-1', 'sales');
  assert.match(first, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(ensureRolePassword(paths, 'orders', 'alice', 'run-1', 'sales'), first, 'a retry of the same operation keeps it');
  assert.deepEqual(storedRole(paths, 'orders', 'alice'), { password: first, database: 'sales', setBy: 'run-1' });
  const rotated = ensureRolePassword(paths, 'orders', 'alice', 'run-2', 'sales');
  assert.notEqual(rotated, first, 'another operation, another password');
  ensureRolePassword(paths, 'orders', 'bob', 'run-3', 'app');

  const file = path.join(paths.secrets, 'orders.json');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(readClusterSecrets(paths, 'orders').superuser, superuser, "the cluster's own passwords are kept");
  await createSecretsActivities(paths).ensureClusterSecrets('orders');
  assert.equal(storedRole(paths, 'orders', 'alice')?.password, rotated, 'ensureClusterSecrets keeps the roles');

  forgetRolePassword(paths, 'orders', 'alice');
  forgetRolePassword(paths, 'orders', 'alice');
  assert.equal(storedRole(paths, 'orders', 'alice'), undefined);
  assert.equal(storedRole(paths, 'orders', 'bob')?.database, 'app');
  assert.equal(storedRole(paths, 'orders', 'constructor'), undefined, 'only own keys are roles');
});
