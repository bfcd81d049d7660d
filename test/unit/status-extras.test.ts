import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryBytes, describeVolumeUse, dfCommand, parseDf } from '../../common/volume-use';
import { describeAge, lastBackup } from '../../common/backup-age';
import type { BackupSummary } from '../../common/backup';

test('df in bytes: the two numbers under its header; anything else is unknown', () => {
  assert.deepEqual(dfCommand('/var/lib/dbaas'), ['df', '-B1', '--output=used,size', '/var/lib/dbaas']);
  assert.deepEqual(parseDf('        Used     1B-blocks\n  48132096 105089261568\n'), { usedBytes: 48132096, sizeBytes: 105089261568 });
  assert.equal(parseDf("df: /nope: No such file or directory\n"), undefined);
  assert.equal(parseDf(''), undefined);
});

test('volume use as status shows it; a stopped member is "-"', () => {
  assert.equal(binaryBytes(512), '512 B');
  assert.equal(binaryBytes(1536), '1.5 KiB');
  assert.equal(binaryBytes(48132096), '45.9 MiB');
  assert.equal(describeVolumeUse({ usedBytes: 48132096, sizeBytes: 105089261568 }), '45.9 MiB of 97.9 GiB (0%)');
  assert.equal(describeVolumeUse({ usedBytes: 3 * 2 ** 30, sizeBytes: 4 * 2 ** 30 }), '3.0 GiB of 4.0 GiB (75%)');
  assert.equal(describeVolumeUse(null), '-');
});

const backup = (label: string, stoppedAt: string, error = false): BackupSummary => ({
  label, type: label.endsWith('F') ? 'full' : 'incr', startedAt: stoppedAt, stoppedAt, durationS: 1, databaseBytes: 0, repositoryBytes: 0,
  walStart: '', walStop: '', lsnStart: '', lsnStop: '', prior: null, error,
});

test('the last backup: the one that ended last and has no error; its age', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  const backups = [backup('20260501-080000F', '2026-05-01T08:01:00.000Z'), backup('20260501-080000F_20260501-100000I', '2026-05-01T10:00:30.000Z'), backup('20260501-110000F', '2026-05-01T11:30:00.000Z', true)];
  assert.deepEqual(lastBackup(backups, now), { label: '20260501-080000F_20260501-100000I', type: 'incr', completedAt: '2026-05-01T10:00:30.000Z', ageSeconds: 7170 });
  assert.equal(lastBackup([], now), null);
  assert.equal(lastBackup([backups[2]], now), null);
});

test('ages in their two largest units', () => {
  assert.equal(describeAge(0), '0 s');
  assert.equal(describeAge(45), '45 s');
  assert.equal(describeAge(720), '12 min');
  assert.equal(describeAge(7170), '1 h 59 min');
  assert.equal(describeAge(3 * 3600 + 5 * 60 + 9), '3 h 5 min');
  assert.equal(describeAge(2 * 86400 + 4 * 3600), '2 d 4 h');
  assert.equal(describeAge(86400 + 30), '1 d');
});
