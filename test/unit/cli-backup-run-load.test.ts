import { test } from 'node:test';
import assert from 'node:assert/strict';

test('`backup run` loads no repository, S3 or schedule code (the other backup commands\' modules): it only starts and follows the workflow', async () => {
  await import('../../client/commands/backup-run');
  const loaded = Object.keys(require.cache).map((f) => f.replace(/\\/g, '/'));
  const heavy = loaded.filter((f) => /\/activities\/(pgbackrest|backup-repository|backup-info|s3-[^/]*|schedules|repository-access|repository-host\/[^/]*)\.js$/.test(f));
  assert.deepEqual(heavy, [], 'client/commands/backup-run.ts imports only what starting and following a backup needs');
});

test('`backup run` loads neither the SDK\'s gRPC client nor its protobufs: it goes through Temporal\'s HTTP API, and gRPC is loaded only without one', async () => {
  await import('../../client/commands/backup-run');
  const loaded = Object.keys(require.cache).map((f) => f.replace(/\\/g, '/'));
  const grpc = loaded.filter((f) => /\/node_modules\/(@temporalio\/(client|proto)|@grpc\/grpc-js|protobufjs)\//.test(f));
  assert.deepEqual(grpc, [], 'client/commands/backup-run.ts imports the gRPC gateway only lazily (client/temporal/connect.ts)');
});
