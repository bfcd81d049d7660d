/** Restore target times and whether the source's backups reach them; the restore helper's script and SQL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupSummary } from '../../common/backup';
import { backupForTarget, parseTargetTime, pgbackrestTargetTime, restoreTargetProblem, restoreVersionFor } from '../../common/restore';
import { renderRestoreScript, renderRolesSql } from '../../common/render/restore';

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

test('restore helper script: pgBackRest restore from the source stanza in the read-only mount, then recovery with archiving off', () => {
  const script = renderRestoreScript({ sourceStanza: 'orders', version: 15, targetTime: '2026-11-23 10:30:00.000+00' });
  assert.match(script, /^set -eu$/m);
  // The source's repository path and passphrase are in the config file: never on a command line.
  assert.match(script, /pgbackrest --stanza=orders --config=\/tmp\/dbaas-source-pgbackrest.conf --pg1-path=\/var\/lib\/dbaas\/pgdata .*--delta .*--type=time "--target=2026-11-23 10:30:00.000\+00" --target-action=promote restore/);
  // Never pushes WAL anywhere while it recovers; pg_ctl -w returns only once promoted (no hot standby).
  assert.match(script, /pg_ctl -D \/var\/lib\/dbaas\/pgdata -w .*-c archive_mode=off -c hot_standby=off -c listen_addresses=''.* start/);
  assert.match(script, /until psql .*-c 'select 1'/);
  assert.ok(script.indexOf('-f /tmp/dbaas-roles.sql') < script.indexOf('rm -f /tmp/dbaas-roles.sql'));
  assert.match(script, /-m fast -w -t 600 stop/);
  assert.ok(script.indexOf('-t 600 stop') < script.indexOf('rm -f /tmp/dbaas-source-pgbackrest.conf'), 'recovery reads WAL with it until PostgreSQL stops');
  assert.match(script, /rm -f \/var\/lib\/dbaas\/pgdata\/patroni.dynamic.json/, "the source's cached DCS config must not seed the new cluster's");
  assert.doesNotMatch(renderRestoreScript({ sourceStanza: 'orders', version: 15 }), /--type=time/);
});

test('restore helper SQL: the new cluster\'s passwords for the roles Patroni uses, pgBackRest\'s recovery settings reset', () => {
  const sql = renderRolesSql({ superuser: "s'1", replication: 'r2', rewind: 'w3', pooler: 'p4' });
  assert.match(sql, /^ALTER ROLE postgres PASSWORD 's''1';$/m);
  assert.match(sql, /^ALTER ROLE replicator PASSWORD 'r2';$/m);
  assert.match(sql, /^ALTER ROLE rewinder PASSWORD 'w3';$/m);
  assert.doesNotMatch(sql, /p4/, 'the pooler role is set by the pooler step');
  for (const s of ['restore_command', 'recovery_target_time', 'recovery_target_action']) assert.match(sql, new RegExp(`^ALTER SYSTEM RESET ${s};$`, 'm'));
});

test('a restore runs the major of the backup pgBackRest picks: the newest that ended by the target time, or the newest of all', () => {
  // A stanza upgraded in place: a 15 backup, then a 17 one.
  const upgraded = [{ ...backups[0]!, pgVersion: 15 }, { ...backups[1]!, pgVersion: 17 }];
  assert.deepEqual(restoreVersionFor({ kind: 'latest' }, upgraded), { version: 17 });
  assert.deepEqual(restoreVersionFor({ kind: 'time', time: '2026-11-23 10:30:00+00' }, upgraded), { version: 15 });
  assert.deepEqual(restoreVersionFor({ kind: 'time', time: '2026-11-23 11:30:00+00' }, upgraded), { version: 17 });
  assert.equal(backupForTarget({ kind: 'time', time: '2026-11-23 10:30:00+00' }, upgraded)?.label, '20261123-100000F');
  // Upgraded to 17 but no backup on 17 yet: latest would silently be 15's data.
  assert.match((restoreVersionFor({ kind: 'latest' }, [upgraded[0]!], 17) as { problem: string }).problem, /holds PostgreSQL 15, from before the upgrade to 17/);
  assert.deepEqual(restoreVersionFor({ kind: 'latest' }, upgraded, 17), { version: 17 });
  // Listed without a major (from before dbaas read it): 15.
  assert.deepEqual(restoreVersionFor({ kind: 'latest' }, backups), { version: 15 });
  assert.match((restoreVersionFor({ kind: 'latest' }, [{ ...backups[0]!, pgVersion: 16 }]) as { problem: string }).problem, /holds PostgreSQL 16/);
});
