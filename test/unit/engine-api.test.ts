/**
 * The CLI's engine client (activities/hosts/engine-api.ts) and read-only host: against a fake
 * engine, they answer what the workers' dockerode host (LocalEngine) answers, exec included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { EngineApi, engineAddressFromEnv } from '../../activities/hosts/engine-api';
import { ReadOnlyEngine } from '../../activities/hosts/read-only-engine';
import { LocalEngine } from '../../activities/hosts/local-engine';
import { startFakeEngine } from '../helpers/fake-engine';
import type { ContainerRow } from '../../common/inventory';

const row = (cluster: string, role: string, name: string, o: Partial<ContainerRow> = {}): ContainerRow => ({
  Names: [`/dbaas-${cluster}-${name}`],
  Labels: { 'dbaas.cluster': cluster, 'dbaas.role': role, 'dbaas.member': name },
  State: 'running',
  Created: 1_700_000_000,
  NetworkSettings: { Networks: { [`dbaas-${cluster}`]: { IPAddress: '10.78.1.7' } } },
  Ports: [{ IP: '127.0.0.1', PrivatePort: 5432, PublicPort: 15403 }],
  ...o,
});

test('DOCKER_HOST is read as dockerode reads it; what only dockerode speaks is left to it', () => {
  assert.deepEqual(engineAddressFromEnv({ DOCKER_HOST: 'unix:///run/user/0/docker.sock' }), { socketPath: '/run/user/0/docker.sock' });
  assert.deepEqual(engineAddressFromEnv({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }), { host: '127.0.0.1', port: 2375 });
  assert.deepEqual(engineAddressFromEnv({ DOCKER_HOST: '127.0.0.1:2375' }), { host: '127.0.0.1', port: 2375 });
  assert.equal(engineAddressFromEnv({ DOCKER_HOST: 'tcp://10.0.0.2:2376' }), undefined, 'TLS');
  assert.equal(engineAddressFromEnv({ DOCKER_HOST: 'tcp://10.0.0.2:2375', DOCKER_TLS_VERIFY: '1' }), undefined, 'TLS');
  assert.equal(engineAddressFromEnv({ DOCKER_HOST: 'ssh://me@h1' }), undefined);
  assert.ok('socketPath' in engineAddressFromEnv({})!);
});

test('the read-only host answers what the dockerode host answers: members, helpers, volumes, networks, exec', async () => {
  const engine = await startFakeEngine({
    containers: [
      row('orders', 'postgres', 'pg-0', { Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'postgres', 'dbaas.member': 'pg-0', 'dbaas.port.direct': '15403' } }),
      row('orders', 'haproxy', 'haproxy', { State: 'exited' }),
      row('orders', 'backup', 'restore-helper'),
      row('other', 'postgres', 'pg-0'),
    ],
    networks: [{ Name: 'dbaas-orders', Labels: { 'dbaas.cluster': 'orders' } }, { Name: 'bridge', Labels: {} }],
    volumes: [{ Name: 'dbaas-orders-pg-0', Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'postgres', 'dbaas.member': 'pg-0' } }, { Name: 'x', Labels: null }],
    exec: (container, cmd) => ({ exitCode: cmd[0] === 'false' ? 1 : 0, stdout: `${container}: ${cmd.join(' ')}\n` }),
  });
  try {
    const reads = new ReadOnlyEngine('local', new EngineApi({ socketPath: engine.socketPath }));
    const workers = new LocalEngine('local', new Docker({ socketPath: engine.socketPath }));
    for (const cluster of ['orders', undefined]) {
      assert.deepEqual(await reads.containers(cluster), await workers.containers(cluster));
      assert.deepEqual(await reads.volumes(cluster), await workers.volumes(cluster));
      assert.deepEqual(await reads.networks(cluster), await workers.networks(cluster));
    }
    const { members, helpers } = await reads.containers('orders');
    assert.deepEqual(members.map((m) => [m.name, m.kind, m.state, m.portLabels]), [['pg-0', 'postgres', 'running', { direct: 15403 }], ['haproxy', 'haproxy', 'exited', {}]]);
    assert.deepEqual(helpers.map((h) => h.container), ['dbaas-orders-restore-helper']);
    assert.deepEqual(reads.endpoint(members[0], 8008), { host: '10.78.1.7', port: 8008 });
    assert.deepEqual(await reads.exec('dbaas-orders-pg-0', ['df', '-B1']), { exitCode: 0, output: 'dbaas-orders-pg-0: df -B1\n' });
    assert.deepEqual(await reads.exec('dbaas-orders-pg-0', ['false']), await workers.exec('dbaas-orders-pg-0', ['false']));
    await assert.rejects(reads.exec('dbaas-gone-pg-0', ['true']), (err: Error & { statusCode?: number }) => err.statusCode === 404 && /No such container: dbaas-gone-pg-0/.test(err.message));
  } finally {
    await engine.close();
  }
});

test('an engine that is not there fails with the socket\'s own code (the inventory tells a lost host by it)', async () => {
  await assert.rejects(new EngineApi({ socketPath: '/nonexistent/docker.sock' }).ping(), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
});
