import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainStartFailure } from '../../activities/docker';
import { MEMBER_PORTS, PORT_BLOCK_SIZE, inRange, memberPort, parsePortRange, pickFreeBlock, portsFromBase } from '../../common/ports';

test('a cluster gets rw, ro, stats and the pooled endpoints in one block', () => {
  assert.deepEqual(portsFromBase(15432), { rw: 15432, ro: 15433, stats: 15434, pooledRw: 15446, pooledRo: 15447 });
});

test('pickFreeBlock skips taken blocks and blocks with a busy port', () => {
  const first = 15432;
  assert.equal(pickFreeBlock(first, new Set(), () => false), first);
  assert.equal(pickFreeBlock(first, new Set([first]), () => false), first + PORT_BLOCK_SIZE);
  const busy = new Set([first + PORT_BLOCK_SIZE + 1]); // ro port of block 1
  assert.equal(pickFreeBlock(first, new Set([first]), (p) => busy.has(p)), first + 2 * PORT_BLOCK_SIZE);
});

test('pickFreeBlock gives up instead of running past port 65535, and refuses a base that is no port', () => {
  assert.equal(pickFreeBlock(65504, new Set([65504]), () => false), 65520, 'the last whole block, 65520-65535');
  assert.equal(pickFreeBlock(65504, new Set([65504, 65520]), () => false), undefined);
  for (const bad of [Number.NaN, 15432.5, 80, 65521]) assert.equal(pickFreeBlock(bad, new Set(), () => false), undefined, String(bad));
});

test('each member pg-0..pg-10 has a direct port in the block after rw, ro and stats', () => {
  assert.equal(memberPort(15432, 'pg-0'), 15435);
  assert.equal(memberPort(15432, 'pg-10'), 15445);
  assert.equal(MEMBER_PORTS, 11);
  assert.equal(memberPort(15432, 'pg-11'), undefined, 'beyond the block: no direct port');
  assert.equal(memberPort(15432, 'haproxy'), undefined);
  assert.ok(memberPort(15432, 'pg-10')! < 15432 + PORT_BLOCK_SIZE - 2, 'the last two ports stay free for pooled endpoints');
});

test('a block with any busy port (a member port too) is skipped', () => {
  assert.equal(pickFreeBlock(15432, new Set(), (p) => p === 15432 + 9), 15432 + PORT_BLOCK_SIZE);
});

test('the kernel ephemeral range is parsed, and blocks overlapping it are skipped', () => {
  const range = parsePortRange('32768\t60999\n');
  assert.deepEqual(range, { low: 32768, high: 60999 });
  assert.equal(parsePortRange('garbage'), undefined);
  assert.equal(parsePortRange('61000 32768'), undefined);
  // A block that starts below the range but reaches into it is skipped as a whole.
  assert.equal(pickFreeBlock(32760, new Set(), (p) => inRange(range, p)), 61000);
  assert.equal(pickFreeBlock(15432, new Set(), (p) => inRange(range, p)), 15432, 'the default range is clear of it');
  assert.equal(inRange(undefined, 40000), false, 'no range known: nothing is excluded');
});

test('a start that fails on a taken host port says which port, first', () => {
  const docker = new Error(
    '(HTTP code 500) server error - driver failed programming external connectivity on endpoint dbaas-x-pg-3 (8923): ' +
      'Error starting userland proxy: listen tcp4 127.0.0.1:35438: bind: address already in use',
  );
  const e = explainStartFailure('dbaas-x-pg-3', docker) as Error;
  assert.equal(e.message, 'cannot start dbaas-x-pg-3: host port 127.0.0.1:35438 is already in use by another process');
  const other = new Error('(HTTP code 500) server error - no such image');
  assert.equal(explainStartFailure('dbaas-x-pg-3', other), other, 'any other failure passes through unchanged');
});
