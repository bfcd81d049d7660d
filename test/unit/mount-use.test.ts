/**
 * A member's data volume use as `cluster status` reads it: statfs of the volume's source when the
 * engine is on this machine (a unix socket), else `df` in the member through the engine's exec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeEngine } from '../helpers/fake-engine';
import { EngineApi } from '../../activities/hosts/engine-api';
import { machineReadInventory } from '../../activities/hosts/read-only-engine';
import { dataVolumeUse } from '../../activities/volume-use';
import { DATA_ROOT } from '../../common/render/image-paths';
import { resolvePaths } from '../../common/paths';
import type { ContainerRow } from '../../common/inventory';

const row = (name: string): ContainerRow => ({
  Names: [`/${name}`], Labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'postgres', 'dbaas.member': name.split('-').pop()! }, State: 'running', Created: 1_700_000_000,
});

test('statfs of the mount source on this machine, df in the member where there is none', async () => {
  const source = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-volume-'));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-home-'));
  const engine = await startFakeEngine({
    containers: [row('dbaas-orders-pg-0'), row('dbaas-orders-pg-1')],
    networks: [],
    volumes: [],
    mounts: { 'dbaas-orders-pg-0': [{ Source: '/elsewhere', Destination: '/etc/x' }, { Source: source, Destination: DATA_ROOT }] },
    exec: (_c, cmd) => (cmd[0] === 'df' ? { exitCode: 0, stdout: '    Used      Size\n  1048576 104857600\n' } : { exitCode: 1, stdout: '' }),
  });
  try {
    const inv = machineReadInventory(resolvePaths({ ...process.env, DBAAS_HOME: home }), new EngineApi({ socketPath: engine.socketPath }));
    const seen = await dataVolumeUse(inv, { host: 'local', container: 'dbaas-orders-pg-0', state: 'running' });
    const s = fs.statfsSync(source);
    assert.equal(seen?.sizeBytes, s.blocks * s.bsize, 'the file system the volume lives on');
    assert.ok(seen !== null && seen.usedBytes > 0 && seen.usedBytes <= seen.sizeBytes);
    assert.ok(!engine.requests.includes('POST /containers/dbaas-orders-pg-0/exec'), 'no exec for a volume this machine sees');
    // No inspect answer with the data mount (the fake's 404): df in the member.
    assert.deepEqual(await dataVolumeUse(inv, { host: 'local', container: 'dbaas-orders-pg-1', state: 'running' }), { usedBytes: 1048576, sizeBytes: 104857600 });
    assert.ok(engine.requests.includes('POST /containers/dbaas-orders-pg-1/exec'));
    assert.equal(await dataVolumeUse(inv, { host: 'local', container: 'dbaas-orders-pg-1', state: 'exited' }), null, 'a stopped member: nothing to read');
  } finally {
    await engine.close();
    fs.rmSync(source, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
