/**
 * Hosts: three simulated hosts (a dockerd each, in its own network namespace) added by
 * `dev hosts up`, each with its worker polling its own task queue from inside its namespace;
 * `host list` as an operator reads it; `host remove` refused while a host runs a member;
 * `dev hosts down` leaves nothing. The main engine never joins the swarm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { childEnv, runCli, tempPaths, testClusterName } from '../helpers/integration';
import { labels } from '../../common/labels';
import type { HostView } from '../../client/commands/host';

const SIM_IMAGES = 'debian:bookworm-slim';
let env: TestWorkflowEnvironment;
let cli: NodeJS.ProcessEnv;
/** Set once this file found no simulated hosts of anyone else: only then does it tear hosts down. */
let ours = false;
const netns = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => /^dbaas-h\d+$/.test(n));
const mainSwarm = (): string => execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8' }).trim();
const hostList = async (): Promise<HostView[]> => JSON.parse((await runCli(['host', 'list', '--json'], cli)).stdout) as HostView[];

before(async () => {
  assert.deepEqual(netns(), [], 'simulated hosts of someone else are up (`dbaas dev hosts down` first): this test makes its own');
  ours = true;
  env = await startTestTemporal();
  cli = { ...childEnv(env, tempPaths()), DBAAS_SIM_IMAGES: SIM_IMAGES };
});

after(async () => {
  if (ours) await runCli(['dev', 'hosts', 'down'], cli);
  await env?.teardown();
});

test('dev hosts up 3: three hosts with an address, a zone, an engine that answers and a worker on each own queue; the main engine stays out of the swarm', async () => {
  const up = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.deepEqual(netns().sort(), ['dbaas-h1', 'dbaas-h2', 'dbaas-h3']);
  let views = await hostList();
  // A worker's first poll reaches Temporal a moment after it starts.
  for (let i = 0; i < 30 && views.some((v) => v.name !== 'local' && v.worker !== 'polling'); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    views = await hostList();
  }
  const added = views.filter((v) => v.name !== 'local');
  assert.deepEqual(added.map((v) => [v.name, v.address, v.zone, v.state, v.worker]), [
    ['h1', '10.77.0.11', 'zone-1', 'up', 'polling'],
    ['h2', '10.77.0.12', 'zone-2', 'up', 'polling'],
    ['h3', '10.77.0.13', 'zone-3', 'up', 'polling'],
  ]);
  // Three engines of their own: each knows only its own containers and has its own name.
  const names = new Set<string>();
  for (const v of added) names.add((await new Docker({ socketPath: v.docker.replace('unix://', '') }).info()).Name);
  assert.equal(names.size, 3);
  assert.equal(mainSwarm(), 'inactive', 'the main engine never joins the swarm (it would lose its containers\' DNS names)');
  const again = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(again.code, 0, 'up again is a no-op: ' + again.stderr);
  assert.equal((await hostList()).length, 4);
});

test('host remove refuses a host that runs a member, and removes it once it runs nothing', async () => {
  const h2 = (await hostList()).find((v) => v.name === 'h2');
  assert.ok(h2);
  const engine = new Docker({ socketPath: h2.docker.replace('unix://', '') });
  const cluster = testClusterName('hosts');
  // What a member looks like to the inventory: a container labelled with a cluster and a role.
  const c = await engine.createContainer({ name: `dbaas-${cluster}-etcd-0`, Image: SIM_IMAGES, Cmd: ['sleep', '600'], Labels: labels(cluster, 'etcd', 'etcd-0') });
  await c.start();
  try {
    assert.deepEqual((await hostList()).find((v) => v.name === 'h2')?.members, { [cluster]: 1 });
    const refused = await runCli(['host', 'remove', 'h2'], cli);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`host h2 runs members of ${cluster} \\(1\\)`));
  } finally {
    await c.remove({ force: true });
  }
  const removed = await runCli(['host', 'remove', 'h2'], cli);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual((await hostList()).map((v) => v.name), ['local', 'h1', 'h3']);
});

test('dev hosts down: no host left in the list, no namespace, no state directory', async () => {
  const down = await runCli(['dev', 'hosts', 'down'], cli);
  assert.equal(down.code, 0, down.stderr + down.stdout);
  assert.deepEqual((await hostList()).map((v) => v.name), ['local']);
  assert.deepEqual(netns(), []);
  assert.equal(fs.existsSync('/var/lib/dbaas-sim/h1'), false);
  assert.equal(mainSwarm(), 'inactive');
});
