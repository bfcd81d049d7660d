import { test } from 'node:test';
import assert from 'node:assert/strict';

test('`backup run` loads no repository, S3 or schedule code (the other backup commands\' modules): it only starts and follows the workflow', async () => {
  await import('../../client/commands/backup-run');
  const loaded = Object.keys(require.cache).map((f) => f.replace(/\\/g, '/'));
  const heavy = loaded.filter((f) => /\/activities\/(pgbackrest|backup-repository|backup-info|s3-[^/]*|schedules|repository-access|repository-host\/[^/]*)\.js$/.test(f));
  assert.deepEqual(heavy, [], 'client/commands/backup-run.ts imports only what starting and following a backup needs');
});
