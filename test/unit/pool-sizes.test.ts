/** PgBouncer's pool sizes from max_connections (common/pool-sizes.ts): the formula, the unsized default, the limits read from the leader and the DCS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONNECTION_LIMITS, OWN_SESSIONS, connectionLimits, poolSizes, poolSizesOfIni, sizedConnectionLimits } from '../../common/pool-sizes';
import { MAX_CONNECTIONS, MIN_CONNECTIONS, sizeParameters } from '../../common/sizes';

const sizes = (maxConnections: number, reservedConnections = 3): [number, number] => {
  const p = poolSizes({ maxConnections, reservedConnections });
  return [p.defaultPoolSize, p.reservePoolSize];
};

test('poolSizes: an unsized cluster keeps 40 + 5; a small max_connections gives smaller pools; the floors hold', () => {
  assert.deepEqual(poolSizes(DEFAULT_CONNECTION_LIMITS), { defaultPoolSize: 40, reservePoolSize: 5 });
  assert.deepEqual(sizes(32), [10, 1], '--memory 256m: max_connections 32');
  assert.deepEqual(sizes(64), [24, 3], '--memory 512m: max_connections 64');
  assert.deepEqual(sizes(128), [53, 6], '--memory 1g');
  assert.deepEqual(sizes(500), [218, 27], 'the size formula\'s ceiling');
  assert.deepEqual(sizes(100, 10), [37, 4], 'more reserved superuser slots, smaller pools');
  assert.deepEqual(sizes(12, 10), [1, 1], 'never below one connection and one in reserve');
});

test('one pooler\'s pool fits one server with room for the own sessions and as much again for direct sessions, for every size the formula makes', () => {
  for (let c = MIN_CONNECTIONS; c <= MAX_CONNECTIONS; c++) {
    const p = poolSizes({ maxConnections: c, reservedConnections: 3 });
    const pool = p.defaultPoolSize + p.reservePoolSize;
    assert.ok(2 * pool + OWN_SESSIONS + 3 <= c, `max_connections ${c}: ${pool} per pooler`);
    assert.ok(p.defaultPoolSize >= 1 && p.reservePoolSize >= 1);
  }
});

test('sizedConnectionLimits: max_connections as the size formula derives it, else the default', () => {
  assert.deepEqual(sizedConnectionLimits(undefined), DEFAULT_CONNECTION_LIMITS);
  assert.deepEqual(sizedConnectionLimits({ cpus: 2 }), DEFAULT_CONNECTION_LIMITS);
  assert.equal(sizedConnectionLimits({ memoryMiB: 512 }).maxConnections, Number(sizeParameters({ memoryMiB: 512 }).max_connections));
  assert.deepEqual(poolSizes(sizedConnectionLimits({ memoryMiB: 512 })), { defaultPoolSize: 24, reservePoolSize: 3 });
});

test('connectionLimits: the lower of what the leader runs and what the DCS holds (a decrease waiting for a restart counts), reserved slots added up', () => {
  const rows = [{ name: 'max_connections', setting: '100' }, { name: 'superuser_reserved_connections', setting: '3' }];
  assert.deepEqual(connectionLimits(rows, '100'), { maxConnections: 100, reservedConnections: 3 });
  assert.deepEqual(connectionLimits(rows, 50), { maxConnections: 50, reservedConnections: 3 }, 'lowered, pending restart');
  assert.deepEqual(connectionLimits(rows, '200'), { maxConnections: 100, reservedConnections: 3 }, 'raised: counts once the leader runs it');
  assert.deepEqual(connectionLimits(rows), { maxConnections: 100, reservedConnections: 3 }, 'no DCS value');
  assert.deepEqual(connectionLimits([...rows, { name: 'reserved_connections', setting: '2' }], 'x'), { maxConnections: 100, reservedConnections: 5 }, 'PostgreSQL 16\'s reserved_connections too');
  assert.deepEqual(connectionLimits([]), DEFAULT_CONNECTION_LIMITS);
});

test('the pool sizes read back from a rendered pgbouncer.ini', () => {
  assert.deepEqual(poolSizesOfIni('[pgbouncer]\ndefault_pool_size = 24\nreserve_pool_size = 3\n'), { defaultPoolSize: 24, reservePoolSize: 3 });
  assert.equal(poolSizesOfIni('[pgbouncer]\ndefault_pool_size = 24\n'), undefined);
});
