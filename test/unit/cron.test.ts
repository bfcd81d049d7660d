/** Cron text checked before a schedule is created or changed: five fields, ranges, lists, steps, names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cronProblem } from '../../common/cron';

test('five-field crons with ranges, lists, steps and names are accepted', () => {
  for (const ok of ['0 3 * * *', '*/15 * * * *', '0 0-23/6 * * *', '5,35 1 1,15 * *', '0 2 * * MON-FRI', '0 2 * * sun',
    '0 2 * * 7', '0 2 * JAN,jul *', '0 2 1 december *', '30 4 29 2 *', '0 2 * * 1-7/2', '5/10 * * * *', '  0 3 * * *  ']) {
    assert.equal(cronProblem(ok), undefined, ok);
  }
});

test('wrong field counts, out-of-range values and foreign syntax are refused with one line', () => {
  const bad: [string, RegExp][] = [
    ['0 3 * *', /five fields/],
    ['0 0 3 * * *', /five fields/],
    ['', /five fields/],
    ['@daily', /five fields/],
    ['61 3 * * *', /minute 61 is outside 0-59/],
    ['0 24 * * *', /hour 24 is outside 0-23/],
    ['0 3 0 * *', /day of month 0 is outside 1-31/],
    ['0 3 32 * *', /day of month 32/],
    ['0 3 * 13 *', /month 13 is outside 1-12/],
    ['0 3 * * 8', /day of week 8 is outside 0-7/],
    ['0 3 * FOO *', /"FOO" is not a month/],
    ['0 3 * * MOO', /"MOO" is not a day of week/],
    ['0 3 * * 1#2', /not a day of week/],
    ['0 3 L * *', /not a day of month/],
    ['0 3 ? * *', /not a day of month/],
    ['*/0 * * * *', /step .* at least 1/],
    ['0 5-2 * * *', /ends before it starts/],
    ['0 1,,2 * * *', /not a valid hour item/],
    ['0 3 30 2 *', /never runs/],
    ['0 3 31 4,6,9,11 *', /never runs/],
  ];
  for (const [cron, why] of bad) {
    const p = cronProblem(cron);
    assert.ok(p, `${cron} is refused`);
    assert.match(p, why, cron);
    assert.doesNotMatch(p, /\n/, 'one line');
  }
});
