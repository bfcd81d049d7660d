/**
 * Workflow logic on a real Temporal dev server (createLocal, existing binary) with fake
 * activities: step order, compensation after a failed step, refusals.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { CreateClusterInput } from '../../common/spec';
import { existingCluster, type Fake, type FakeOptions } from '../helpers/fake-activities';
import { assertCalledBefore, positionOf } from '../helpers/order';
import { startTestTemporal } from '../helpers/temporal';
import { rootCause, runWithFakes } from '../helpers/run-with-fakes';

let env: TestWorkflowEnvironment;

before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

const spec = (o: Partial<CreateClusterInput> = {}): CreateClusterInput => ({
  name: 'orders', replicas: 2, sync: false, profile: 'default', etcdMembers: 1, keepOnFailure: false, ...o,
});

/** What the fake cluster holds at the end of a run, sorted. */
const footprint = (f: Fake): Record<'containers' | 'networks' | 'volumes', string[]> => ({
  containers: [...f.world.containers].sort(), networks: [...f.world.networks].sort(), volumes: [...f.world.volumes].sort(),
});

const run = (workflow: 'createCluster' | 'deleteCluster', arg: unknown, fake: FakeOptions = {}) => runWithFakes(env, workflow, arg, fake);

test('CreateCluster runs the plan in order and returns connection info without secrets', async () => {
  const { f, result, error, progress } = await run('createCluster', spec());
  assert.equal(error, undefined);
  const names = f.names();
  const idx = (name: string): number => positionOf(names, name);
  const last = (name: string): number => positionOf(names, name, 'last');
  assert.equal(names[0], 'assertClusterAbsent');
  assert.deepEqual(names.slice(1, 3), ['clusterVolumes', 'clusterSecretsExist'], 'then it looks for kept data');
  assert.equal(names[3], 'placementHosts', 'then it places the members, before anything is made');
  assert.deepEqual(names.slice(4, 8).sort(), ['allocatePorts', 'createClusterNetwork', 'ensureClusterCa', 'ensureClusterSecrets']);
  assert.ok(idx('ensureClusterCa') > idx('ensureClusterSecrets'), 'the CA after the secrets, in the same step');
  // The repository beside etcd (the members' containers need it, etcd does not); etcd, its
  // quorum, its authentication, then the first member (which logs in from its first request).
  assert.deepEqual(names.slice(8, 10).sort(), ['ensureBackupRepository', 'startEtcdMember']);
  assert.ok(idx('startPostgresMember') > idx('ensureBackupRepository'));
  assert.ok(idx('waitForEtcdHealthy') > idx('startEtcdMember'));
  assert.ok(idx('enableEtcdAuth') > idx('waitForEtcdHealthy'));
  assert.ok(idx('startPostgresMember') > idx('enableEtcdAuth'));
  const starts = f.calls.filter((c) => c.name === 'startPostgresMember').map((c) => (c.arg as { member: string }).member);
  assert.equal(starts[0], 'pg-0');
  assert.deepEqual(starts.slice(1).sort(), ['pg-1', 'pg-2'], 'replicas start in parallel, in any order');
  // No replica starts before pg-0 holds the initialize key: a predictable leader, no bootstrap race.
  const firstReplicaStart = names.indexOf('startPostgresMember', idx('startPostgresMember') + 1);
  assert.ok(idx('waitForBootstrapClaimed') > idx('waitForEtcdHealthy'));
  assert.ok(firstReplicaStart > idx('waitForBootstrapClaimed'));
  assert.ok(idx('waitForReplicaStreaming') > last('startPostgresMember'));
  assert.ok(idx('waitForReplicaStreaming') > idx('waitForLeader'));
  assert.equal(names.filter((x) => x === 'waitForReplicaStreaming').length, 2);
  assert.ok(idx('waitForHaproxyBackends') > names.lastIndexOf('waitForReplicaStreaming'));
  assert.ok(idx('verifyReadWrite') > idx('waitForHaproxyBackends'));
  assert.ok(idx('ensurePoolerAuth') > idx('waitForHaproxyBackends'), 'pooler auth is created once rw routes to the leader');
  assert.ok(idx('ensureAppRole') > idx('waitForHaproxyBackends'), 'the app role is created once rw routes to the leader');
  assert.ok(idx('ensurePoolerAuth') > idx('ensureAppRole'), 'the app database exists when the pooler\'s lookup function is put into it');
  assert.ok(['verifyMetrics', 'verifyReadWrite', 'createStanza', 'verifyPooledEndpoints'].includes(names[names.length - 1]));
  // The exporters start once HAProxy routes, beside the first write and the pooled endpoints.
  assert.ok(idx('startMetrics') > idx('ensureMonitorRole') && idx('verifyMetrics') > idx('startMetrics'));
  assert.ok(idx('ensureMonitorRole') > idx('waitForHaproxyBackends'), 'the monitor role is made once rw routes to the leader');
  // The stanza once a leader runs, beside HAProxy, the poolers and the clones.
  assert.ok(idx('createStanza') > idx('waitForLeader'), 'the stanza is made once a leader runs');
  assert.equal(names.filter((x) => x === 'startPgbouncer').length, 2);
  assert.ok(!names.includes('removeCluster'));
  assert.deepEqual(result, {
    cluster: 'orders', host: '127.0.0.1', ports: { rw: 25432, ro: 25433, stats: 25434, pooledRw: 25446, pooledRo: 25447 }, user: 'app', database: 'app',
    members: ['pg-0', 'pg-1', 'pg-2'], leader: 'pg-0', statsUrl: 'http://127.0.0.1:25434/',
  });
  assert.ok(progress.steps.every((s) => s.state === 'done'), JSON.stringify(progress.steps));
  assert.equal(progress.steps[progress.steps.length - 1].name, 'start the cluster watch');
  // The watch outlives the create (parent close policy ABANDON) and carries the cluster's search attribute.
  const watch = await env.client.workflow.getHandle('cluster-watch:orders').describe();
  assert.equal(watch.type, 'clusterWatch');
  assert.equal(watch.status.name, 'RUNNING');
  assert.deepEqual(watch.searchAttributes.ClusterName, ['orders']);
});

test('a second create of the same cluster finds the watch already running and succeeds', async () => {
  const { error } = await run('createCluster', spec());
  assert.equal(error, undefined);
});

test('three etcd members are all started before the quorum wait', async () => {
  const { f } = await run('createCluster', spec({ etcdMembers: 3, replicas: 0 }));
  const names = f.names();
  const etcd = f.calls.filter((c) => c.name === 'startEtcdMember').map((c) => (c.arg as { member: string }).member).sort();
  assert.deepEqual(etcd, ['etcd-0', 'etcd-1', 'etcd-2']);
  assert.ok(positionOf(names, 'startEtcdMember', 'last') < positionOf(names, 'waitForEtcdHealthy'));
  assert.ok(!names.includes('waitForReplicaStreaming'));
});

test('a step that fails for good triggers compensation: everything this run made is removed', async () => {
  const { f, error, progress } = await run('createCluster', spec(), { failOn: { waitForReplicaStreaming: 'Boom' } });
  assert.ok(error instanceof WorkflowFailedError);
  assert.equal(rootCause(error).type, 'Boom');
  const names = f.names();
  // Containers and network, then every volume but those it found (none here).
  assert.deepEqual(f.calls.find((c) => c.name === 'removeCluster')?.arg, { cluster: 'orders', keepData: true });
  assert.deepEqual(f.calls.find((c) => c.name === 'removeClusterVolumes')?.arg, { cluster: 'orders', keep: [] });
  assert.ok(names.includes('releasePorts'));
  assert.ok(names.includes('deleteClusterSecrets'));
  assert.ok(names.includes('deleteBackupSettings'), 'the passphrase of the repository it made goes with it');
  assert.ok(!names.includes('verifyReadWrite'));
  const states = Object.fromEntries(progress.steps.map((s) => [s.name, s.state]));
  assert.equal(states['wait for pg-1 streaming'], 'failed');
  assert.equal(states['write via rw, read via ro'], 'skipped');
  assert.equal(states['compensate: remove containers, network, volumes'], 'done');
  assert.deepEqual(footprint(f), { containers: [], networks: [], volumes: [] }, 'nothing this run made is left');
});

test('a failed create on kept data removes only what it made: kept volumes and secrets stay', async () => {
  const kept = ['backup-repo', 'etcd-0-data', 'pg-0-data', 'pg-1-data'];
  const { f, error, progress } = await run('createCluster', spec({ replicas: 2 }), {
    existing: { volumes: kept }, secretsExist: true, failOn: { startHaproxy: 'Boom' },
  });
  assert.equal(rootCause(error).type, 'Boom');
  assert.deepEqual(footprint(f), { containers: [], networks: [], volumes: kept }, 'pg-2-data (this run\'s) is gone, the kept volumes are not');
  assert.ok(!f.names().includes('deleteClusterSecrets'), 'the kept secrets stay');
  assert.ok(!f.names().includes('deleteBackupSettings'), 'the kept repository keeps its passphrase');
  assert.ok(f.names().includes('releasePorts'));
  const states = Object.fromEntries(progress.steps.map((s) => [s.name, s.state]));
  assert.equal(states['compensate: remove containers, network, new volumes (kept data stays)'], 'done');
  assert.equal(states['compensate: release ports (kept secrets stay)'], 'done');
});

test('a failed step waits for its siblings to finish before compensating: no container is made after the cleanup', async () => {
  // HAProxy fails at once while both PgBouncers are still being created (slow fakes): with
  // Promise.all the compensation ran first and the poolers appeared after it.
  const events: string[] = [];
  const { error } = await runWithFakes(env, 'createCluster', spec(), { failOn: { startHaproxy: 'Boom' } }, {
    extra: {
      startPgbouncer: async (a: never) => {
        await new Promise((r) => setTimeout(r, 1500));
        events.push(`pgbouncer-${(a as { kind: string }).kind} started`);
      },
      removeCluster: async () => void events.push('removeCluster'),
    },
  });
  assert.equal(rootCause(error).type, 'Boom');
  assert.equal(events.at(-1), 'removeCluster', `the cleanup ran after both poolers were made: ${events.join(', ')}`);
  assert.deepEqual([...events].sort(), ['pgbouncer-ro started', 'pgbouncer-rw started', 'removeCluster']);
});

test('on kept data the members with data start together, and the leader they elect is followed (not assumed to be pg-0)', async () => {
  const kept = ['backup-repo', 'etcd-0-data', 'pg-0-data', 'pg-1-data'];
  const { f, error, result, progress } = await runWithFakes(env, 'createCluster', spec({ replicas: 2 }), { existing: { volumes: kept }, secretsExist: true }, {
    extra: { waitForLeader: async () => 'pg-1' },
  });
  assert.equal(error, undefined);
  const names = f.names();
  const starts = f.calls.filter((c) => c.name === 'startPostgresMember').map((c) => (c.arg as { member: string }).member);
  assert.deepEqual(starts.slice(0, 2).sort(), ['pg-0', 'pg-1'], 'both kept members start before the bootstrap wait');
  assert.equal(starts[2], 'pg-2');
  assert.ok(positionOf(names, 'waitForBootstrapClaimed') > names.indexOf('startPostgresMember') + 1);
  const streaming = f.calls.filter((c) => c.name === 'waitForReplicaStreaming').map((c) => (c.arg as { member: string }).member).sort();
  assert.deepEqual(streaming, ['pg-0', 'pg-2'], 'the followers of pg-1');
  assert.equal((result as { leader: string }).leader, 'pg-1');
  const states = Object.fromEntries(progress.steps.map((s) => [s.name, s.state]));
  assert.equal(states['wait for pg-1 streaming'], 'skipped');
  assert.equal(states['wait for pg-0 streaming'], 'done');
});

test('on kept data of a later generation (after a blue/green upgrade\'s finish) its members start under their names and generation, its etcd keys granted', async () => {
  const kept = ['backup-repo', 'etcd-0-data', 'pg-2-data', 'pg-3-data'];
  // What the look-up reports after `upgrade finish` and `delete --keep-data`: generation 2's volumes.
  const keptVolumes = kept.map((name) => name === 'backup-repo' ? { name, role: 'backup' }
    : name.startsWith('etcd') ? { name, role: 'etcd', member: 'etcd-0' } : { name, role: 'postgres', member: name.replace(/-data$/, ''), generation: 2 });
  const { f, error, result, progress } = await runWithFakes(env, 'createCluster', spec({ replicas: 2 }), { existing: { volumes: kept }, secretsExist: true }, {
    extra: { clusterVolumes: async () => keptVolumes, servingGeneration: async () => 2, grantGenerationKeys: async () => ({ authEnabled: true }), waitForLeader: async () => 'pg-3' },
  });
  assert.equal(error, undefined);
  const names = f.names();
  const starts = f.calls.filter((c) => c.name === 'startPostgresMember').map((c) => c.arg as { member: string; generation?: number });
  assert.deepEqual(starts.slice(0, 2).map((s) => s.member).sort(), ['pg-2', 'pg-3'], 'the kept members start on their volumes, together');
  assert.equal(starts[2]?.member, 'pg-4', 'a new member is named after every kept one');
  assert.ok(starts.every((s) => s.generation === 2), 'all in the kept data\'s generation (its Patroni scope orders-g2)');
  assert.deepEqual(f.calls.find((c) => c.name === 'waitForBootstrapClaimed')?.arg, { cluster: 'orders', member: 'pg-2' });
  assert.deepEqual(f.calls.find((c) => c.name === 'grantGenerationKeys')?.arg, { cluster: 'orders', members: ['etcd-0'], scope: 'orders-g2' });
  assertCalledBefore(names, 'enableEtcdAuth', 'grantGenerationKeys');
  assertCalledBefore(names, 'grantGenerationKeys', 'startPostgresMember', 'Patroni may use its keys from its first request on');
  assert.deepEqual((f.calls.find((c) => c.name === 'startHaproxy')?.arg as { members: string[] }).members, ['pg-2', 'pg-3', 'pg-4']);
  assert.deepEqual((result as { members: string[] }).members, ['pg-3', 'pg-2', 'pg-4']);
  assert.deepEqual(footprint(f).volumes, [...kept, 'pg-4-data'].sort(), 'no pg-0 or pg-1 beside the kept data');
  assert.ok(!progress.steps.some((s) => /pg-[01]\b/.test(s.name)), JSON.stringify(progress.steps.map((s) => s.name)));
  assert.ok(progress.steps.every((s) => s.state === 'done' || s.state === 'skipped'), JSON.stringify(progress.steps));
});

/** The look-up's answer when both generations' data was kept: pg-0, pg-1 (generation 1) and pg-2, pg-3 (labelled 2). */
const BOTH_GENERATIONS = ['backup-repo', 'etcd-0-data', 'pg-0-data', 'pg-1-data', 'pg-2-data', 'pg-3-data'];
const bothGenerations = () => BOTH_GENERATIONS.map((name) => name === 'backup-repo' ? { name, role: 'backup' }
  : name.startsWith('etcd') ? { name, role: 'etcd', member: 'etcd-0' }
  : { name, role: 'postgres', member: name.replace(/-data$/, ''), ...(/pg-[23]/.test(name) ? { generation: 2 } : {}) });

test('on kept data of both generations (an upgrade that had not cut over) generation 1 starts; generation 2\'s data is left and its etcd state forgotten', async () => {
  const { f, error, result } = await runWithFakes(env, 'createCluster', spec({ replicas: 2 }), { existing: { volumes: BOTH_GENERATIONS }, secretsExist: true }, {
    extra: { clusterVolumes: async () => bothGenerations(), servingGeneration: async () => 1, grantGenerationKeys: async () => ({ authEnabled: true }) },
  });
  assert.equal(error, undefined);
  const starts = f.calls.filter((c) => c.name === 'startPostgresMember').map((c) => c.arg as { member: string; generation?: number });
  assert.deepEqual(starts.map((s) => s.member).sort(), ['pg-0', 'pg-1', 'pg-4'], 'generation 1\'s kept members, and a new name after every kept one');
  assert.ok(starts.every((s) => s.generation === undefined), 'in the first generation');
  const grants = f.calls.filter((c) => c.name === 'grantGenerationKeys').map((c) => c.arg);
  assert.deepEqual(grants, [{ cluster: 'orders', members: ['etcd-0'], scope: 'orders-g2', revoke: true }], 'the next upgrade builds generation 2 anew under orders-g2');
  assertCalledBefore(f.names(), 'enableEtcdAuth', 'grantGenerationKeys');
  assert.deepEqual((result as { keptDataLeft: unknown }).keptDataLeft, { started: 1, left: [{ generation: 2, volumes: ['pg-2-data', 'pg-3-data'] }] });
  assert.deepEqual(footprint(f).volumes, [...BOTH_GENERATIONS, 'pg-4-data'].sort(), 'generation 2\'s volumes stay');
  assert.ok(!footprint(f).containers.some((c) => c === 'pg-2' || c === 'pg-3'));
});

test('on kept data of both generations (an upgrade that failed after its cutover) generation 2 starts; a failure removes only what the run made', async () => {
  const { f, error, progress } = await runWithFakes(env, 'createCluster', spec({ replicas: 2 }), {
    existing: { volumes: BOTH_GENERATIONS }, secretsExist: true, failOn: { startHaproxy: 'Boom' },
  }, {
    extra: { clusterVolumes: async () => bothGenerations(), servingGeneration: async () => 2, grantGenerationKeys: async () => ({ authEnabled: true }), waitForLeader: async () => 'pg-2' },
  });
  assert.ok(error instanceof WorkflowFailedError);
  const starts = f.calls.filter((c) => c.name === 'startPostgresMember').map((c) => c.arg as { member: string; generation?: number });
  assert.deepEqual(starts.map((s) => s.member).sort(), ['pg-2', 'pg-3', 'pg-4']);
  assert.ok(starts.every((s) => s.generation === 2), 'in generation 2, under orders-g2');
  assert.deepEqual(f.calls.filter((c) => c.name === 'grantGenerationKeys').map((c) => c.arg), [{ cluster: 'orders', members: ['etcd-0'], scope: 'orders-g2' }], 'generation 1\'s state is not touched');
  assert.deepEqual(footprint(f), { containers: [], networks: [], volumes: BOTH_GENERATIONS }, 'both generations\' kept data stays; pg-4-data, this run\'s, is gone');
  assert.ok(!progress.steps.some((s) => /\bpg-[01]\b/.test(s.name)), JSON.stringify(progress.steps.map((s) => s.name)));
});

test('kept data a spec cannot use is refused before anything starts: another etcd size, data without its secrets', async () => {
  const etcd = await run('createCluster', spec({ etcdMembers: 3 }), { existing: { volumes: ['etcd-0-data', 'pg-0-data'] }, secretsExist: true });
  assert.equal(rootCause(etcd.error).type, 'SpecError');
  assert.match(rootCause(etcd.error).message, /kept from before \(--keep-data\) with 1 etcd member: create it with --etcd 1/);
  assert.deepEqual(etcd.f.names(), ['assertClusterAbsent', 'clusterVolumes', 'clusterSecretsExist', 'servingGeneration'], 'nothing created, nothing compensated');
  const noSecrets = await run('createCluster', spec(), { existing: { volumes: ['etcd-0-data', 'pg-0-data'] } });
  assert.match(rootCause(noSecrets.error).message, /no secrets file: its passwords are lost/);
  assert.deepEqual(footprint(noSecrets.f).volumes, ['etcd-0-data', 'pg-0-data']);
});

test('--keep-on-failure leaves what was created', async () => {
  const { f, error } = await run('createCluster', spec({ keepOnFailure: true }), { failOn: { startHaproxy: 'Boom' } });
  assert.ok(error instanceof WorkflowFailedError);
  assert.ok(!f.names().includes('removeCluster'));
  assert.ok(!f.names().includes('deleteClusterSecrets'));
  const left = footprint(f);
  // The poolers start alongside HAProxy, so they may or may not have been made before it failed.
  for (const m of ['etcd-0', 'pg-0', 'pg-1', 'pg-2']) assert.ok(left.containers.includes(m), `${m}, started before the failure, is kept`);
  assert.ok(!left.containers.includes('haproxy'));
  assert.deepEqual(left.networks, ['orders']);
});

test('an existing cluster is refused and never compensated (it is not ours to remove)', async () => {
  const { f, error } = await run('createCluster', spec(), { failOn: { assertClusterAbsent: 'ClusterExists' } });
  assert.equal(rootCause(error).type, 'ClusterExists');
  assert.deepEqual(f.names(), ['assertClusterAbsent']);
});

test('an invalid spec fails before any activity runs', async () => {
  const { f, error } = await run('createCluster', spec({ replicas: 42 }));
  assert.equal(rootCause(error).type, 'SpecError');
  assert.match(rootCause(error).message, /replicas must be an integer from 0 to 8/);
  assert.deepEqual(f.names(), []);
});

test('DeleteCluster cancels the watch first, archives the last WAL, removes all but the backup repository, then verifies', async () => {
  const { f, error, result, progress } = await run('deleteCluster', { name: 'orders', keepData: false }, { existing: existingCluster });
  assert.equal(error, undefined);
  assert.equal(progress.steps[0].name, 'stop the cluster watch');
  // The watch started by the create tests above got the cancellation request.
  const history = await env.client.workflow.getHandle('cluster-watch:orders').fetchHistory();
  assert.ok(history.events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes), 'cancel requested');
  const names = f.names();
  assert.deepEqual(names.slice(0, -2), [
    'removeScrapeTargets', 'deleteClusterBackupSchedules', 'clusterHasRepository', 'clusterFootprint', 'leaderHost', 'archiveCurrentWal', 'removeCluster',
    'removeScrapeTargets', 'deleteClusterSecrets', 'recordClusterDeleted', 'releasePorts',
  ]);
  // The check at the end reads the footprint and the volumes at once: either order.
  assert.deepEqual(names.slice(-2).sort(), ['clusterFootprint', 'clusterVolumes']);
  assert.deepEqual(f.calls.find((c) => c.name === 'removeCluster')?.arg, { cluster: 'orders', keepData: false, keepBackups: true });
  assert.deepEqual(result, { containers: 7, networks: 1, volumes: 4, keptVolumes: 0, keptBackups: true, walArchived: true });
  assert.deepEqual(footprint(f), { containers: [], networks: [], volumes: ['backup-repo'] });
});

test('DeleteCluster --purge-backups removes the repository and the backup settings too; no WAL is archived', async () => {
  const { f, error, result } = await run('deleteCluster', { name: 'orders', keepData: false, purgeBackups: true }, { existing: existingCluster });
  assert.equal(error, undefined);
  assert.ok(!f.names().includes('archiveCurrentWal'));
  assert.ok(f.names().includes('deleteBackupSettings'));
  assert.equal((f.calls.find((c) => c.name === 'recordClusterDeleted')?.arg as { keeps: boolean }).keeps, false, 'nothing kept: no deletion record');
  assert.deepEqual(result, { containers: 7, networks: 1, volumes: 5, keptVolumes: 0, keptBackups: false, walArchived: false });
  assert.deepEqual(footprint(f), { containers: [], networks: [], volumes: [] });
});

test('DeleteCluster fails when something is left after the removal, naming what', async () => {
  const { error, progress } = await run('deleteCluster', { name: 'orders', keepData: false }, { existing: existingCluster, undeletable: ['pg-1'] });
  assert.match(rootCause(error).message, /cluster orders still has 1 containers, 0 networks, volumes none/);
  const states = Object.fromEntries(progress.steps.map((s) => [s.name, s.state]));
  assert.equal(states['verify nothing is left but what is kept'], 'failed');
});

test('DeleteCluster --keep-data keeps volumes and credentials', async () => {
  const { f, error, result } = await run('deleteCluster', { name: 'orders', keepData: true }, { existing: existingCluster });
  assert.equal(error, undefined);
  assert.deepEqual(f.calls.find((c) => c.name === 'removeCluster')?.arg, { cluster: 'orders', keepData: true, keepBackups: true });
  assert.deepEqual(result, { containers: 7, networks: 1, volumes: 0, keptVolumes: 4, keptBackups: true, walArchived: true });
  assert.deepEqual(footprint(f).volumes, existingCluster.volumes.slice().sort());
  assert.ok(!f.names().includes('deleteClusterSecrets'));
  assert.ok(!f.names().includes('deleteBackupSettings'), 'the retention stays with the kept repository');
});
