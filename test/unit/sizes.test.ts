/** Member sizes: the SIZE and CPU parsers, the derived parameters' formula, Docker limits, and what the renderer and `cluster config set` make of them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { describeSize, dockerLimits, hasLimits, parseCpus, parseMemory, resized, sizeParameters, sizeProblem } from '../../common/sizes';
import { changeProblems } from '../../common/set-parameters';
import { managedProblem } from '../../common/managed-parameters';
import { SIZE_SETTING_ROWS } from '../helpers/pg-settings';
import { renderPatroniConfig } from '../../common/render/patroni';
import { PROFILES, SpecError, validateSpec } from '../../common/spec';

/** A parser's number, or its problem line. */
const valueOrProblem = (p: { problem: string } | Record<string, number>): number | string => ('problem' in p ? String(p.problem) : Object.values(p)[0]!);

test('parseMemory: Docker-style binary units, a bare number is bytes, whole MiB; below 256m or malformed is refused with one line', () => {
  const mib = (t: string): number | string => valueOrProblem(parseMemory(t));
  assert.equal(mib('512m'), 512);
  assert.equal(mib('512M'), 512);
  assert.equal(mib('2g'), 2048);
  assert.equal(mib('1536MiB'), 1536);
  assert.equal(mib('1.5GB'), 1536);
  assert.equal(mib('262144k'), 256);
  assert.equal(mib(String(300 * 1024 * 1024)), 300);
  assert.equal(mib(' 1g '), 1024);
  assert.match(String(mib('255m')), /^--memory must be at least 256m \(PostgreSQL, Patroni and pgBackRest share it\), got 255m$/);
  assert.match(String(mib('2048')), /^--memory must be at least 256m/, 'a bare number is bytes, as Docker reads it');
  for (const bad of ['', 'lots', '1x', '-1g', '1g2', 'g', '1e3m']) assert.match(String(mib(bad)), /^--memory takes a size like 512m, 2g or 1536MiB, got "/, bad);
  assert.match(String(mib('2000t')), /^--memory must be at most 1t/);
});

test('parseCpus: a number of CPUs with at most two decimals, from 0.1 to 256', () => {
  const cpus = (t: string): number | string => valueOrProblem(parseCpus(t));
  assert.equal(cpus('1'), 1);
  assert.equal(cpus('0.5'), 0.5);
  assert.equal(cpus('2.25'), 2.25);
  for (const bad of ['0', '0.05', '1.234', 'two', '-1', '', '1e2', '257']) assert.match(String(cpus(bad)), /^--cpus /, bad);
});

test('sizeParameters: the documented formula, its bounds, and nothing without a memory limit', () => {
  assert.deepEqual(sizeParameters({ memoryMiB: 512 }), {
    shared_buffers: '128MB', effective_cache_size: '384MB', max_connections: '64', work_mem: '4MB', maintenance_work_mem: '32MB',
  });
  assert.deepEqual(sizeParameters({ memoryMiB: 256, cpus: 1 }), {
    shared_buffers: '64MB', effective_cache_size: '192MB', max_connections: '32', work_mem: '4MB', maintenance_work_mem: '16MB',
  });
  // max_connections stops at 500; work_mem then grows with what shared_buffers leaves: (16384 − 4096) / 1500.
  assert.deepEqual(sizeParameters({ memoryMiB: 16384 }), {
    shared_buffers: '4096MB', effective_cache_size: '12288MB', max_connections: '500', work_mem: '8MB', maintenance_work_mem: '1024MB',
  });
  assert.equal(sizeParameters({ memoryMiB: 64 * 1024 }).maintenance_work_mem, '2048MB', 'maintenance_work_mem stops at 2GB');
  assert.equal(sizeParameters({ memoryMiB: 1000 }).shared_buffers, '250MB');
  assert.equal(sizeParameters({ memoryMiB: 1001 }).effective_cache_size, '750MB', 'rounded down');
  assert.deepEqual(sizeParameters({ cpus: 2 }), {});
  assert.deepEqual(sizeParameters(undefined), {});
  for (let m = 256; m <= 1024 * 1024; m *= 2) {
    const p = sizeParameters({ memoryMiB: m });
    const connections = Number(p.max_connections);
    assert.ok(connections >= 25 && connections <= 500, `${m} MiB: max_connections ${connections}`);
    assert.ok(parseInt(p.work_mem!, 10) >= 4, `${m} MiB: work_mem ${p.work_mem}`);
  }
});

test('the derived parameters are ordinary ones for `cluster config set`: none managed, none below a floor', () => {
  for (const memoryMiB of [256, 512, 4096, 1024 * 1024]) {
    const changes = Object.entries(sizeParameters({ memoryMiB })).map(([name, value]) => ({ name, value }));
    assert.deepEqual(changeProblems(changes, SIZE_SETTING_ROWS), [], `${memoryMiB} MiB`);
    for (const c of changes) assert.equal(managedProblem(c.name, c.value), undefined, c.name);
  }
});

test('dockerLimits: NanoCpus and Memory in bytes, only for what the size names', () => {
  assert.deepEqual(dockerLimits({ cpus: 1.5, memoryMiB: 512 }), { NanoCpus: 1_500_000_000, Memory: 512 * 1024 * 1024 });
  assert.deepEqual(dockerLimits({ memoryMiB: 256 }), { Memory: 256 * 1024 * 1024 });
  assert.deepEqual(dockerLimits(undefined), {});
});

test('sizeProblem and validateSpec: a spec with a bad size is refused, a good one passes', () => {
  assert.equal(sizeProblem({ cpus: 1, memoryMiB: 512 }), undefined);
  assert.equal(sizeProblem({}), undefined);
  assert.match(String(sizeProblem({ memoryMiB: 100 })), /at least 256m/);
  assert.match(String(sizeProblem({ cpus: '1' })), /^cpus must be a number/);
  assert.match(String(sizeProblem({ cpus: 1, disk: 3 })), /^size takes cpus and memoryMiB only, got disk$/);
  assert.match(String(sizeProblem(null)), /^size must be an object/);
  const spec = { name: 'orders', replicas: 1, sync: false, profile: 'fast' as const, etcdMembers: 1 as const };
  assert.doesNotThrow(() => validateSpec({ ...spec, size: { cpus: 1, memoryMiB: 512 } }));
  assert.throws(() => validateSpec({ ...spec, size: { memoryMiB: 128 } }), (e) => e instanceof SpecError && /at least 256m/.test(e.message));
});

test('describeSize and resized: one phrase; a resize keeps what it does not name', () => {
  assert.equal(describeSize({ cpus: 1, memoryMiB: 512 }), '1 CPU, 512 MiB');
  assert.equal(describeSize({ cpus: 2, memoryMiB: 2048 }), '2 CPUs, 2 GiB');
  assert.equal(describeSize(undefined), 'no limits');
  assert.deepEqual(resized({ cpus: 1, memoryMiB: 512 }, { memoryMiB: 1024 }), { cpus: 1, memoryMiB: 1024 });
  assert.deepEqual(resized(undefined, { cpus: 2 }), { cpus: 2 });
});

test("patroni.yml: a size's parameters go into the bootstrap DCS config over the base ones, nothing without a size", () => {
  const render = (size?: { memoryMiB?: number }): Record<string, unknown> => (parse(renderPatroniConfig({
    cluster: 'orders', member: 'pg-0', etcdMembers: ['etcd-0'], profile: PROFILES.fast, sync: false,
    tags: { nofailover: false, noloadbalance: false }, passwords: { superuser: 's', replication: 'r', rewind: 'w', pooler: 'p' },
    archive: true, tls: true, ...(size ? { size } : {}),
  })) as { bootstrap: { dcs: { postgresql: { parameters: Record<string, unknown> } } } }).bootstrap.dcs.postgresql.parameters;
  const sized = render({ memoryMiB: 512 });
  assert.equal(sized.shared_buffers, '128MB');
  assert.equal(sized.max_connections, '64');
  assert.equal(sized.wal_level, 'logical', 'the base parameters stay');
  assert.ok(String(sized.archive_command).length > 0, 'and the archive settings');
  const plain = render();
  assert.equal(plain.max_connections, 100);
  assert.equal(plain.shared_buffers, undefined);
});

test('hasLimits: a size names a CPU or memory limit (`cluster status` prints its size line only then)', () => {
  assert.ok(hasLimits({ cpus: 1 }) && hasLimits({ memoryMiB: 512 }));
  assert.ok(!hasLimits({}) && !hasLimits(null) && !hasLimits(undefined));
});
