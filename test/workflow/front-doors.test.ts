/**
 * The front door a drain or a lost host's replacement opens, with fake activities on the test's
 * Temporal and a worker per added host: its poolers start with the pool sizes for the
 * max_connections the leader runs (poolerSizes), not the default 100's; when those cannot be
 * read, the door still opens, with the defaults.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterDescription } from '../../activities/cluster';
import type { ClusterPlaces } from '../../activities/hosts/drain';
import { poolSizes, type ConnectionLimits, type PoolSizes } from '../../common/pool-sizes';
import type { HostOffer } from '../../common/placement';
import { healthyCluster } from '../helpers/fake-activities';
import { startTestTemporal } from '../helpers/temporal';
import { runWithFakes, type ExtraActivity, type FakeRun } from '../helpers/run-with-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

/** A cluster made with --memory 512m: max_connections 64, so 24 + 3 per pooler (40 + 5 is the default's). */
const LIMITS: ConnectionLimits = { maxConnections: 64, reservedConnections: 3 };
const SIZED: PoolSizes = poolSizes(LIMITS);

const offer = (name: string): HostOffer => ({ name, load: 0, swarmManager: false, ...(name === 'local' ? {} : { address: `10.0.0.${name.slice(1)}` }) });

/** pg-0 leads on h2; `members`: the others, by host. */
function described(members: [string, string][], frontDoors: string[]): ClusterDescription {
  const replica = healthyCluster.members[1];
  return {
    ...healthyCluster,
    members: [{ ...healthyCluster.members[0], host: 'h2' }, ...members.map(([name, host]) => ({ ...replica, name, host }))],
    namesInUse: ['pg-0', 'pg-1', 'pg-2'],
    frontDoors,
  };
}

/** What AddReplica across hosts and the door ask beyond the shared fakes. */
function across(desc: ClusterDescription, hosts: string[]): Record<string, ExtraActivity> {
  return {
    describeCluster: async () => desc,
    placementHosts: async () => ['local', ...hosts].map(offer),
    waitForReplicaAnswer: async () => undefined,
    poolerSizes: async () => ({ limits: LIMITS, pool: SIZED }),
  };
}

const pgbouncerStarts = (r: FakeRun) => r.f.calls.filter((c) => c.name === 'startPgbouncer').map((c) => c.arg as { kind: string; publishOn?: string; pool?: PoolSizes });

test('a lost host\'s replacement opens a front door whose poolers have the pools for the max_connections the leader runs', async () => {
  // pg-1 was on the lost h1; h4 holds none of the cluster's members: the replacement and its door go there.
  const desc = described([['pg-2', 'h3']], ['h2', 'h3']);
  const input = { cluster: 'orders', host: 'h1', members: ['pg-1'], since: 1 };
  const r = await runWithFakes(env, 'replaceLostMembers', input, {}, { extra: across(desc, ['h2', 'h3', 'h4']), hosts: ['h2', 'h3', 'h4'] });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual((r.result as { replaced: unknown[] }).replaced, [{ lost: 'pg-1', member: 'pg-3', host: 'h4' }]);
  const names = r.f.names();
  assert.ok(names.indexOf('poolerSizes') >= 0 && names.indexOf('poolerSizes') < names.indexOf('startPgbouncer'), names.join(', '));
  assert.deepEqual(pgbouncerStarts(r).map((s) => [s.kind, s.publishOn, s.pool]).sort(), [['ro', '10.0.0.4', SIZED], ['rw', '10.0.0.4', SIZED]]);
  assert.deepEqual(SIZED, { defaultPoolSize: 24, reservePoolSize: 3 });

  // The leader's settings cannot be read: the door opens anyway, with the default sizes (the next re-size fixes them).
  const unread = await runWithFakes(env, 'replaceLostMembers', input, {}, { extra: across(desc, ['h2', 'h3', 'h4']), failExtraOn: { poolerSizes: 'Boom' }, hosts: ['h2', 'h3', 'h4'] });
  assert.equal(unread.error, undefined, String(unread.error));
  assert.deepEqual(pgbouncerStarts(unread).map((s) => [s.kind, s.pool]).sort(), [['ro', undefined], ['rw', undefined]]);
  assert.ok(unread.f.names().includes('waitForHaproxyBackends'), 'the door opened');
});

test('a drain moves a member and its front door off a host: the new door\'s poolers have the pools for the max_connections the leader runs', async () => {
  // h1 holds pg-1 (a replica) and a front door; h4 holds nothing of the cluster.
  const desc = described([['pg-1', 'h1'], ['pg-2', 'h3']], ['h1', 'h2', 'h3']);
  const places: ClusterPlaces = {
    postgres: [{ name: 'pg-0', host: 'h2' }, { name: 'pg-1', host: 'h1' }, { name: 'pg-2', host: 'h3' }],
    etcd: [{ name: 'etcd-0', host: 'h2' }],
    frontDoors: ['h1', 'h2', 'h3'],
    namesInUse: ['etcd-0', 'pg-0', 'pg-1', 'pg-2'],
  };
  const hosts = ['h1', 'h2', 'h3', 'h4'];
  const r = await runWithFakes(env, 'drainClusterFromHost', { cluster: 'orders', host: 'h1', drainTimeoutMs: 1000 }, {}, {
    extra: { ...across(desc, hosts), clusterPlaces: async () => places, removeFrontDoor: async () => undefined },
    hosts,
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual((r.result as { moves: unknown[] }).moves, [{ kind: 'postgres', from: 'pg-1', to: 'pg-3', host: 'h4' }]);
  const names = r.f.names();
  assert.ok(names.indexOf('poolerSizes') < names.indexOf('startPgbouncer') && names.indexOf('startPgbouncer') < names.indexOf('removeFrontDoor'),
    'the new door opens, sized, before the old one goes');
  assert.deepEqual(pgbouncerStarts(r).map((s) => [s.kind, s.publishOn, s.pool]).sort(), [['ro', '10.0.0.4', SIZED], ['rw', '10.0.0.4', SIZED]]);
});
