/** Names every workflow checks at its start (common/input-checks.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backupLabelProblem, memberNameProblem, namesProblem } from '../../common/input-checks';

test('cluster, member and label names dbaas never makes are refused', () => {
  for (const bad of ['../../x', 'a/b', '..', '/etc', '', 'A', 'x'.repeat(31)]) {
    assert.ok(namesProblem({ clusters: [bad] }), `cluster ${JSON.stringify(bad)}`);
  }
  assert.ok(namesProblem({ clusters: [42] }));
  assert.equal(namesProblem({ clusters: ['orders', 't-1a2b3c-x'] }), undefined);
  for (const bad of ['../pg-1', 'pg-1/..', 'pg-', 'pg-1000', 'etcd-0']) assert.ok(memberNameProblem(bad), bad);
  assert.equal(memberNameProblem('pg-12'), undefined);
  for (const bad of ['../x', '20260131-020000', '20260131-020000F/..', '20260131-020000F_20260201-020000F']) assert.ok(backupLabelProblem(bad), bad);
  assert.equal(backupLabelProblem('20260131-020000F'), undefined);
  assert.equal(backupLabelProblem('20260131-020000F_20260201-020000I'), undefined);
  assert.match(namesProblem({ clusters: ['ok'], members: ['a/b'] }) ?? '', /member must look like pg-N, got "a\/b"/);
});
