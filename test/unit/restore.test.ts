/** Restore target times and whether the source's backups reach them; the custom bootstrap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupSummary } from '../../common/backup';
import { parseTargetTime, pgbackrestTargetTime, restoreTargetProblem } from '../../common/restore';
import { restoreBootstrap } from '../../common/render/patroni';

const backup = (label: string, stoppedAt: string): BackupSummary => ({
  label, type: 'full', startedAt: stoppedAt, stoppedAt, durationS: 5, databaseBytes: 1, repositoryBytes: 1,
  walStart: '', walStop: '', lsnStart: '', lsnStop: '', prior: null, error: false,
});
const now = Date.parse('2026-11-23T12:00:00Z');
const backups = [backup('20261123-100000F', '2026-11-23T10:00:05.000Z'), backup('20261123-110000F', '2026-11-23T11:00:05.000Z')];

test('target times: the documented form, with fractions, offsets and Z', () => {
  assert.equal(parseTargetTime('2026-11-23 11:30:00+00'), Date.parse('2026-11-23T11:30:00Z'));
  assert.equal(parseTargetTime('2026-11-23 12:30:00.250+01'), Date.parse('2026-11-23T11:30:00.250Z'));
  assert.equal(parseTargetTime('2026-11-23T11:30:00Z'), Date.parse('2026-11-23T11:30:00Z'));
  assert.equal(parseTargetTime('2026-11-23 06:00:00-05:30'), Date.parse('2026-11-23T11:30:00Z'));
  assert.equal(parseTargetTime('yesterday'), undefined);
  assert.equal(parseTargetTime('2026-11-23 11:30:00'), undefined, 'an offset is required: no guessing the zone');
  assert.equal(pgbackrestTargetTime(Date.parse('2026-11-23T11:30:00.250Z')), '2026-11-23 11:30:00.250+00');
});

test('a target must lie after the end of the earliest backup and not in the future', () => {
  assert.equal(restoreTargetProblem({ kind: 'time', time: '2026-11-23 10:30:00+00' }, backups, now), undefined);
  assert.match(restoreTargetProblem({ kind: 'time', time: '2026-11-23 09:00:00+00' }, backups, now) ?? '', /before the end of the earliest backup \(20261123-100000F/);
  assert.match(restoreTargetProblem({ kind: 'time', time: '2026-11-23 13:00:00+00' }, backups, now) ?? '', /in the future/);
  assert.equal(restoreTargetProblem({ kind: 'latest' }, backups, now), undefined);
  assert.match(restoreTargetProblem({ kind: 'latest' }, [], now) ?? '', /no backup/);
});

test('custom bootstrap: pgBackRest restore from the source stanza in the read-only mount, recovery kept', () => {
  const b = restoreBootstrap({ sourceStanza: 'orders', targetTime: '2026-11-23 10:30:00.000+00' }) as { method: string; pgbackrest: { command: string; keep_existing_recovery_conf: boolean; no_params: boolean } };
  assert.equal(b.method, 'pgbackrest');
  assert.match(b.pgbackrest.command, /--stanza=orders --repo1-path=\/var\/lib\/pgbackrest-source/);
  assert.match(b.pgbackrest.command, /--type=time "--target=2026-11-23 10:30:00.000\+00" --target-action=promote restore$/);
  assert.equal(b.pgbackrest.keep_existing_recovery_conf, true);
  assert.equal(b.pgbackrest.no_params, true);
  const latest = restoreBootstrap({ sourceStanza: 'orders' }) as { pgbackrest: { command: string } };
  assert.doesNotMatch(latest.pgbackrest.command, /--type=time/);
});
