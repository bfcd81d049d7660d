/** Written instants checked field by field: impossible dates and times are refused, never rolled over. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysInMonth, parseInstant } from '../../common/timestamps';
import { parseTargetTime, restoreTargetProblem, targetTimeProblem } from '../../common/restore';
import { parseSwitchoverTime } from '../../common/switchover';

const ms = (text: string): number | undefined => {
  const r = parseInstant(text);
  return 'ms' in r ? r.ms : undefined;
};
const problem = (text: string): string => {
  const r = parseInstant(text);
  return 'problem' in r ? r.problem : '';
};

test('real instants: space or T, optional seconds and fraction, Z or offsets', () => {
  assert.equal(ms('2026-11-23 10:30:00+00'), Date.parse('2026-11-23T10:30:00Z'));
  assert.equal(ms('2026-11-23T10:30Z'), Date.parse('2026-11-23T10:30:00Z'));
  assert.equal(ms('2026-11-23 12:00:00.250+01:30'), Date.parse('2026-11-23T10:30:00.250Z'));
  assert.equal(ms('2026-11-23 05:30:00.123456789-0500'), Date.parse('2026-11-23T10:30:00.123Z'));
  assert.equal(ms('2028-02-29 00:00:00+00'), Date.parse('2028-02-29T00:00:00Z'), 'a leap day');
  assert.equal(ms('2000-02-29 00:00:00+00'), Date.parse('2000-02-29T00:00:00Z'), 'divisible by 400: leap');
  assert.equal(ms('2026-12-31 23:59:59+14:00'), Date.parse('2026-12-31T09:59:59Z'));
  assert.equal(ms('0099-01-01 00:00:00Z'), Date.parse('0099-01-01T00:00:00Z'), 'years below 100 are not read as 19xx');
  assert.deepEqual([daysInMonth(2026, 2), daysInMonth(2024, 2), daysInMonth(1900, 2), daysInMonth(2026, 4), daysInMonth(2026, 12)], [28, 29, 28, 30, 31]);
});

test('impossible dates and times are refused with what is wrong', () => {
  assert.match(problem('2026-02-30 10:00:00+00'), /day 30: February 2026 has 28 days/);
  assert.match(problem('2025-02-29 10:00:00+00'), /day 29: February 2025 has 28 days/);
  assert.match(problem('1900-02-29 10:00:00+00'), /February 1900 has 28 days/);
  assert.match(problem('2026-04-31 10:00:00+00'), /April 2026 has 30 days/);
  assert.match(problem('2026-01-00 10:00:00+00'), /day 00/);
  assert.match(problem('2026-13-01 10:00:00+00'), /month 13/);
  assert.match(problem('2026-00-01 10:00:00+00'), /month 00/);
  assert.match(problem('2026-01-01 24:00:00+00'), /hour 24/);
  assert.match(problem('2026-01-01 25:61:00+00'), /hour 25/);
  assert.match(problem('2026-01-01 23:61:00+00'), /minute 61/);
  assert.match(problem('2026-01-01 23:59:60+00'), /second 60/);
  assert.match(problem('2026-01-01 10:00:00+15'), /offsets are at most ±14:00/);
  assert.match(problem('2026-01-01 10:00:00+01:60'), /minutes are 00-59/);
  assert.match(problem('tomorrow'), /not a date and time/);
  assert.match(problem('2026-01-01 10:00:00'), /not a date and time with a UTC offset/);
});

test('restore --to-time: impossible dates are refused in one line, never rolled over', () => {
  for (const t of ['2026-02-30 10:00:00+00', '2026-01-01 24:00:00+00', '2026-01-01 25:61:00+00', '2026-13-01 10:00:00+00', '2025-02-29 10:00:00+00']) {
    assert.equal(parseTargetTime(t), undefined, t);
    const p = targetTimeProblem(t) ?? '';
    assert.match(p, /^--to-time "/, t);
    assert.doesNotMatch(p, /\n/);
    assert.equal(restoreTargetProblem({ kind: 'time', time: t }, [{ label: 'x', type: 'full', startedAt: '2020-01-01T00:00:00Z', stoppedAt: '2020-01-01T00:00:00Z', durationS: 1, databaseBytes: 1, repositoryBytes: 1, walStart: '', walStop: '', lsnStart: '', lsnStop: '', prior: null, error: false }], Date.parse('2030-01-01T00:00:00Z')), p);
  }
  assert.match(targetTimeProblem('2026-11-23T10:30Z') ?? '', /must look like 'YYYY-MM-DD HH:MM:SS\+00'/, 'the documented form has seconds');
  assert.equal(targetTimeProblem('2026-11-23 10:30:00+00'), undefined);
});

test('switchover --at: impossible dates and times are refused, not rolled over', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  assert.throws(() => parseSwitchoverTime('2030-02-30T02:00:00Z', now), /--at "2030-02-30T02:00:00Z" has day 30: February 2030 has 28 days/);
  assert.throws(() => parseSwitchoverTime('2030-02-01T24:00:00Z', now), /hour 24/);
  assert.throws(() => parseSwitchoverTime('2030-02-01T25:61Z', now), /hour 25/);
  assert.throws(() => parseSwitchoverTime('2030-13-01T02:00:00Z', now), /month 13/);
  assert.throws(() => parseSwitchoverTime('2031-02-29T02:00:00+01:00', now), /February 2031 has 28 days/);
  assert.equal(parseSwitchoverTime('2032-02-29T02:00:00+01:00', now), '2032-02-29T01:00:00.000Z');
});
