import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PORT_BLOCK_SIZE, pickFreeBlock, portsFromBase } from '../../common/ports';

test('a cluster gets rw, ro and stats in one block', () => {
  assert.deepEqual(portsFromBase(15432), { rw: 15432, ro: 15433, stats: 15434 });
});

test('pickFreeBlock skips taken blocks and blocks with a busy port', () => {
  const first = 15432;
  assert.equal(pickFreeBlock(first, new Set(), () => false), first);
  assert.equal(pickFreeBlock(first, new Set([first]), () => false), first + PORT_BLOCK_SIZE);
  const busy = new Set([first + PORT_BLOCK_SIZE + 1]); // ro port of block 1
  assert.equal(pickFreeBlock(first, new Set([first]), (p) => busy.has(p)), first + 2 * PORT_BLOCK_SIZE);
});

test('pickFreeBlock gives up instead of running past port 65535', () => {
  assert.equal(pickFreeBlock(65530, new Set(), () => false), undefined);
});
