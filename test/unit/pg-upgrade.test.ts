import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgUpgradeReason } from '../../activities/upgrade/helper';
import { upgradeProblem } from '../../common/postgres-version';

const REG_REFUSAL = `Performing Consistency Checks
-----------------------------
Checking cluster versions                                     ok
Checking data type usage                                      failed check: Checking for reg* data types in user tables

Data type checks failed:
Your installation contains one of the reg* data types in user tables.

A list of the problem columns is in the file:
    /var/lib/dbaas/pgdata.next/pg_upgrade_output.d/20261202T130155.514/tables_using_reg.txt

Failure, exiting
--- tables_using_reg.txt
In database: postgres
  public.t.p
In database: billing
  public.u.q
`;

test('pg_upgrade\'s refusal on one line: the failed check and the objects its file lists', () => {
  assert.equal(pgUpgradeReason(REG_REFUSAL), 'Checking for reg* data types in user tables (postgres: public.t.p, billing: public.u.q)');
});

test('pg_upgrade output that names no check: its last lines', () => {
  assert.equal(pgUpgradeReason('Checking cluster versions   ok\n\nThe source cluster was not shut down cleanly.\nFailure, exiting\n'), 'Checking cluster versions   ok / The source cluster was not shut down cleanly. / Failure, exiting');
});

test('upgrade paths: 15 → 17 only; the same, older or unknown majors say why', () => {
  assert.equal(upgradeProblem('a', 15, 17), undefined);
  assert.match(upgradeProblem('a', 17, 17)!, /already runs PostgreSQL 17/);
  assert.match(upgradeProblem('a', 17, 15)!, /does not go back to 15/);
  assert.match(upgradeProblem('a', 15, 16)!, /--to must be one of 15, 17, got 16/);
});
