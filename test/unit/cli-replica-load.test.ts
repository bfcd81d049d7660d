import { test } from 'node:test';
import assert from 'node:assert/strict';

test('`replica add` loads neither the worker\'s Docker client and certificate code nor gRPC: its checks read Docker and Patroni over HTTP, its workflow starts over Temporal\'s HTTP API', async () => {
  await import('../../client/commands/replica');
  const loaded = Object.keys(require.cache).map((f) => f.replace(/\\/g, '/'));
  const heavy = loaded.filter((f) => /\/node_modules\/(dockerode|@peculiar\/[^/]+|@temporalio\/(client|proto)|@grpc\/grpc-js|protobufjs)\//.test(f) || /\/activities\/(cluster|patroni|certificates)\.js$/.test(f));
  assert.deepEqual(heavy, [], 'client/commands/replica.ts loads the removal\'s describeCluster only when a removal is checked');
});
