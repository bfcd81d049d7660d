import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upgradePhase } from '../../common/upgrade-status';
import { formatUpgradeStatus, type UpgradeStatusView } from '../../client/commands/upgrade-status';
import type { Progress, StepState } from '../../common/progress';

const progress = (...states: StepState[]): Progress => ({ operation: 'upgrade', cluster: 'o', steps: states.map((state, i) => ({ name: `step ${i + 1}`, state })) });

test('the phase is the running step, else the failed one, else the last done, else the first', () => {
  assert.deepEqual(upgradePhase(progress('done', 'running', 'pending')), { index: 2, of: 3, step: 'step 2', state: 'running' });
  assert.deepEqual(upgradePhase(progress('done', 'failed', 'skipped')), { index: 2, of: 3, step: 'step 2', state: 'failed' });
  assert.deepEqual(upgradePhase(progress('done', 'done', 'done')), { index: 3, of: 3, step: 'step 3', state: 'done' });
  assert.deepEqual(upgradePhase(progress('pending', 'pending')), { index: 1, of: 2, step: 'step 1', state: 'pending' });
  assert.equal(upgradePhase(progress()), null);
});

test('upgrade status says what ran, where it is and whether the old major can still come back', () => {
  const view: UpgradeStatusView = {
    cluster: 'orders', version: 15,
    upgrade: {
      workflowId: 'upgrade-in-place:orders', method: 'in-place', state: 'RUNNING', startedAt: '2026-12-03T03:40:12.000Z', closedAt: null,
      from: 15, to: 17, phase: { index: 9, of: 20, step: 'pg_upgrade --link on pg-0\'s data', state: 'running' }, pastPointOfNoReturn: true, replicationLagBytes: null,
      cutOver: null, writePauseMs: null, awaitingDecision: null, backupProblem: null, decisionProblem: null, backupBefore: null,
    },
  };
  const text = formatUpgradeStatus(view);
  assert.match(text, /^orders: in-place upgrade PostgreSQL 15 → 17: running \(started 2026-12-03T03:40:12.000Z\); the cluster runs PostgreSQL 15$/m);
  assert.match(text, /phase 9\/20: pg_upgrade --link on pg-0's data \(running\)/);
  assert.match(text, /point of no return \(pg_upgrade --link\): yes; the way back is a restore/);
  assert.doesNotMatch(text, /replication lag/);
  assert.equal(formatUpgradeStatus({ cluster: 'orders', version: 17, upgrade: null }), 'orders: no upgrade has run; it runs PostgreSQL 17');
  const bg = formatUpgradeStatus({ ...view, upgrade: { ...view.upgrade!, method: 'blue-green', state: 'FAILED', closedAt: '2026-12-03T03:41:00.000Z', phase: null, pastPointOfNoReturn: false } });
  assert.match(bg, /blue-green upgrade PostgreSQL 15 → 17: failed \(started .*, ended 2026-12-03T03:41:00.000Z\)/);
  assert.match(bg, /phase: unknown \(no worker answered/);
  assert.match(bg, /replication lag: none yet/);
  assert.doesNotMatch(bg, /cut over/);
  const waiting = formatUpgradeStatus({ ...view, upgrade: { ...view.upgrade!, method: 'blue-green', replicationLagBytes: 0, cutOver: true, writePauseMs: 1830, awaitingDecision: true } });
  assert.match(waiting, /cut over: PostgreSQL 17 serves; writes were paused 1\.8 s/);
  assert.match(waiting, /waiting for `dbaas upgrade finish orders` or `dbaas upgrade rollback orders --discard-writes`/);
  assert.doesNotMatch(waiting, /backups:/);
  const unbacked = formatUpgradeStatus({ ...view, upgrade: { ...view.upgrade!, method: 'blue-green', cutOver: true, awaitingDecision: true, backupProblem: 'a full backup on PostgreSQL 17: timed out' } });
  assert.match(unbacked, /backups: none on PostgreSQL 17 yet \(`upgrade finish` tries again\): a full backup on PostgreSQL 17: timed out/);
  assert.doesNotMatch(unbacked, /both generations stand/);
  const again = formatUpgradeStatus({ ...view, upgrade: { ...view.upgrade!, method: 'blue-green', cutOver: true, awaitingDecision: true, decisionProblem: 'upgrade rollback failed: no leader among pg-0, pg-1, pg-2' } });
  assert.match(again, /upgrade rollback failed: no leader among pg-0, pg-1, pg-2; both generations stand\n.*waiting for `dbaas upgrade finish orders`/);
  assert.doesNotMatch(waiting, /backup before the cutover/, 'a run from before it took one says nothing of it');
  const backedUp = formatUpgradeStatus({ ...view, upgrade: { ...view.upgrade!, method: 'blue-green', backupBefore: { label: '20261203-034100F', stoppedAt: '2026-12-03T03:41:30.000Z' } } });
  assert.match(backedUp, /backup before the cutover: 20261203-034100F \(full, PostgreSQL 15, ended 2026-12-03T03:41:30.000Z\): `dbaas restore --to-time` to a moment before the cutover starts from it, until the retention expires it/);
  const unasked = formatUpgradeStatus({ ...view, upgrade: { ...view.upgrade!, method: 'blue-green', backupBefore: { none: 'upgrade --no-backup' } } });
  assert.match(unasked, /backup before the cutover: none \(upgrade --no-backup\)/);
});
