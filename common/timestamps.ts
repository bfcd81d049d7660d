/**
 * Written instants (`2026-11-23 10:30:00+00`, `2030-01-31T02:00Z`) checked field by field.
 * JavaScript's Date.parse rolls impossible dates over (2026-02-30 becomes 2 March, 24:00 the next
 * day), so a typo would silently restore to, or switch over at, another moment. Pure: used by
 * the CLI before anything starts and by the workflows' activities.
 */

/** The written fields; each caller checks the text's shape (its documented form) first. */
const WRITTEN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)$/;

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** No time zone is further than 14 hours from UTC (Pacific/Kiritimati is +14:00). */
const MAX_OFFSET_MINUTES = 14 * 60;

export type ParsedInstant = { ms: number } | { problem: string };

const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

export function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/**
 * The instant of `YYYY-MM-DD[ T]HH:MM[:SS[.fraction]](Z|±HH[[:]MM])`, or why the text names
 * none: a day the month does not have, hour 24 and beyond, minute or second 60 and beyond
 * (leap seconds too), an offset beyond ±14:00. The fraction is kept to the millisecond.
 */
export function parseInstant(text: string): ParsedInstant {
  const m = WRITTEN.exec(text.trim());
  if (!m) return { problem: 'is not a date and time with a UTC offset' };
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number);
  const second = Number(m[6] ?? '0');
  if (month < 1 || month > 12) return { problem: `has month ${m[2]}: months are 01-12` };
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return { problem: `has day ${m[3]}: ${MONTH_NAMES[month - 1]} ${year} has ${days} days` };
  if (hour > 23) return { problem: `has hour ${m[4]}: hours are 00-23 (midnight is 00:00 of the next day)` };
  if (minute > 59) return { problem: `has minute ${m[5]}: minutes are 00-59` };
  if (second > 59) return { problem: `has second ${m[6]}: seconds are 00-59` };
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const offHours = Number(m[10]);
    const offMinutes = Number(m[11] ?? '0');
    if (offMinutes > 59) return { problem: `has offset ${m[8]}: its minutes are 00-59` };
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offHours * 60 + offMinutes);
    if (Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) return { problem: `has offset ${m[8]}: UTC offsets are at most ±14:00` };
  }
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  // setUTCFullYear: Date.UTC would read the years 0-99 as 1900-1999.
  const utc = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  utc.setUTCFullYear(year, month - 1, day);
  return { ms: utc.getTime() - offsetMinutes * 60_000 };
}
