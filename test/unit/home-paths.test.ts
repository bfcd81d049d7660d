/** Paths built from cluster names, labels and members stay inside their directory in DBAAS_HOME. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { resolvePaths } from '../../common/paths';
import { insideDir, insideHome } from '../../activities/home-paths';
import { readRetention } from '../../activities/backup-settings';
import { deleteRowCounts } from '../../activities/backup-checks';
import { readClusterSecrets } from '../../activities/secrets';

const paths = resolvePaths({ DBAAS_HOME: '/srv/dbaas-home' });

/** A final (not retried) PathRefused failure. */
function refused(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === 'PathRefused' && err.nonRetryable === true;
}

test('a plain name resolves inside DBAAS_HOME', () => {
  assert.equal(insideHome(paths, 'backup-settings', 'orders.json'), '/srv/dbaas-home/backup-settings/orders.json');
  assert.equal(insideHome(paths, 'backup-checks', 't-1a2b3c-bak', '20261123-100000F.json'), '/srv/dbaas-home/backup-checks/t-1a2b3c-bak/20261123-100000F.json');
  assert.equal(insideDir('/srv/dbaas-home/secrets', 'orders..json'), '/srv/dbaas-home/secrets/orders..json', 'dots inside a name are fine');
});

test('traversal, separators, absolute and empty parts are refused, final', () => {
  for (const parts of [['backup-checks', '../../x'], ['backup-checks', 'a/b'], ['backup-checks', '..'], ['backup-checks', '/etc'],
    ['backup-checks', '.'], ['backup-checks', ''], ['locks', 'x\\..\\y'], ['a\0b'], ['..'], []]) {
    assert.throws(() => insideHome(paths, ...parts), refused, JSON.stringify(parts));
  }
  assert.throws(() => insideHome(paths, 'backup-settings', '../../x.json'), /not a plain name/);
});

test('the activities that build paths from a cluster name refuse ../../x before touching anything', () => {
  assert.throws(() => readRetention(paths, '../../x'), refused);
  assert.throws(() => deleteRowCounts(paths, '../../x'), refused);
  assert.throws(() => deleteRowCounts(paths, '..'), refused);
  assert.throws(() => readClusterSecrets(paths, '../../x'), refused);
});
