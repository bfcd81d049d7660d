/**
 * Tests never touch a user's clusters: leftovers are found by the test-run label their worker
 * put on every resource, never by a t-* name. Every Docker resource here is made by this test
 * (a network and a volume are enough to look like a cluster) and removed by it by name.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import { TEST_RUN_ENV, ensureNetwork, ensureVolume, isNotFound } from '../../activities/docker';
import { LABEL_TEST_RUN, labels } from '../../common/labels';
import { networkName, volumeName } from '../../common/resource-names';
import { TEST_RUN, removeLeftoverTestClusters, testClusterName } from '../helpers/integration';

const docker = new Docker();
const made: { networks: string[]; volumes: string[] } = { networks: [], volumes: [] };

/** A pid that no process has any more: a child that has run and been reaped. */
const endedPid = spawnSync(process.execPath, ['-e', '']).pid;
const endedRun = `${endedPid}-0ended0`;

/** A cluster-looking network and volume, each with the given test-run label ('' for none). */
async function fakeCluster(cluster: string, networkRun: string, volumeRun: string): Promise<void> {
  const run = (r: string): Record<string, string> => (r ? { [LABEL_TEST_RUN]: r } : {});
  await docker.createNetwork({ Name: networkName(cluster), Labels: { ...labels(cluster, 'network'), ...run(networkRun) } });
  made.networks.push(networkName(cluster));
  await docker.createVolume({ Name: volumeName(cluster, 'pg-0'), Labels: { ...labels(cluster, 'postgres', 'pg-0'), ...run(volumeRun) } });
  made.volumes.push(volumeName(cluster, 'pg-0'));
}

async function exists(cluster: string): Promise<{ network: boolean; volume: boolean }> {
  const found = async (p: Promise<unknown>): Promise<boolean> => p.then(() => true, (err: unknown) => {
    if (isNotFound(err)) return false;
    throw err;
  });
  return {
    network: await found(docker.getNetwork(networkName(cluster)).inspect()),
    volume: await found(docker.getVolume(volumeName(cluster, 'pg-0')).inspect()),
  };
}

after(async () => {
  for (const n of made.networks) await docker.getNetwork(n).remove().catch((err: unknown) => { if (!isNotFound(err)) throw err; });
  for (const v of made.volumes) await docker.getVolume(v).remove().catch((err: unknown) => { if (!isNotFound(err)) throw err; });
});

test('leftover clean-up removes only clusters of ended test runs, never a t-* cluster without the label', async () => {
  assert.ok(endedPid > 0);
  // Named through testClusterName so a concurrent older checkout (which cleans by name) leaves them alone too.
  const users = testClusterName('orders');
  const ended = testClusterName('leftover');
  const mixed = testClusterName('mixed');
  const live = testClusterName('live');
  await fakeCluster(users, '', '');
  await fakeCluster(ended, endedRun, endedRun);
  await fakeCluster(mixed, endedRun, '');
  // A test run still going side by side: the test runner that started this file.
  await fakeCluster(live, `${process.ppid}-0alive0`, `${process.ppid}-0alive0`);

  const removed = await removeLeftoverTestClusters(docker);

  assert.deepEqual(await exists(users), { network: true, volume: true }, "a user's t-* cluster survives");
  assert.deepEqual(await exists(mixed), { network: true, volume: true }, 'a cluster with an unlabelled resource is someone\'s own');
  assert.deepEqual(await exists(live), { network: true, volume: true }, 'a running test run keeps its clusters');
  assert.deepEqual(await exists(ended), { network: false, volume: false }, 'an ended run\'s leftover is removed');
  assert.ok(removed.includes(ended));
  assert.ok(![users, mixed, live].some((c) => removed.includes(c)), removed.join(', '));
});

test('a test worker labels what it creates with its run, and the run\'s own clusters are not leftovers', async () => {
  const cluster = testClusterName('labelled');
  const before = process.env[TEST_RUN_ENV];
  process.env[TEST_RUN_ENV] = TEST_RUN;
  try {
    await ensureNetwork(docker, cluster, labels(cluster, 'network'));
    made.networks.push(networkName(cluster));
    await ensureVolume(docker, volumeName(cluster, 'pg-0'), labels(cluster, 'postgres', 'pg-0'));
    made.volumes.push(volumeName(cluster, 'pg-0'));
  } finally {
    if (before === undefined) delete process.env[TEST_RUN_ENV];
    else process.env[TEST_RUN_ENV] = before;
  }
  const net = (await docker.getNetwork(networkName(cluster)).inspect()) as { Labels?: Record<string, string> };
  const vol = await docker.getVolume(volumeName(cluster, 'pg-0')).inspect();
  assert.equal(net.Labels?.[LABEL_TEST_RUN], TEST_RUN);
  assert.equal(vol.Labels?.[LABEL_TEST_RUN], TEST_RUN);
  assert.ok(!(await removeLeftoverTestClusters(docker)).includes(cluster));
  assert.deepEqual(await exists(cluster), { network: true, volume: true });
});
