import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterName, parseEtcd, parseProfile, parseReplicas } from '../../client/args';
import { UsageError } from '../../client/errors';
import { normalizeRole } from '../../activities/patroni-api';

test('CLI argument parsers raise UsageError (exit 2) with one line', () => {
  const usage = (fn: () => unknown): void => assert.throws(fn, (e: Error) => e instanceof UsageError && !e.message.includes('\n'));
  usage(() => parseClusterName('Bad_Name'));
  usage(() => parseReplicas('9'));
  usage(() => parseReplicas('-1'));
  usage(() => parseReplicas('two'));
  usage(() => parseEtcd('2'));
  usage(() => parseProfile('slow'));
  assert.equal(parseReplicas('0'), 0);
  assert.equal(parseReplicas('8'), 8);
  assert.equal(parseEtcd('3'), 3);
  assert.equal(parseProfile('fast'), 'fast');
  assert.equal(parseClusterName('orders'), 'orders');
});

test('Patroni role spellings of 3.0.2 and later map to one vocabulary', () => {
  assert.equal(normalizeRole('master'), 'leader');
  assert.equal(normalizeRole('primary'), 'leader');
  assert.equal(normalizeRole('leader'), 'leader');
  assert.equal(normalizeRole('replica'), 'replica');
  assert.equal(normalizeRole('sync_standby'), 'sync_standby');
  assert.equal(normalizeRole(undefined), 'unknown');
});
