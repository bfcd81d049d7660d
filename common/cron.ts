/**
 * Five-field cron text (MIN HOUR DOM MON DOW, UTC) checked in pure code before a schedule is
 * created or changed, so a bad cron is refused with one line and nothing changes. The grammar is
 * the common subset that Temporal's own parser reads the same way: `*`, numbers, ranges `a-b`,
 * steps `*\/n`, `a/n`, `a-b/n`, lists, and English month and weekday names. Anything else is
 * refused, notably `#` (Temporal would read the rest of the text as a comment and drop it),
 * `L`, `W` and `?`.
 */

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names accepted for the values min, min+1, … (3-letter or full, any case). */
  names?: string[];
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const FIELDS: CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as in most crons and in Temporal.
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS },
];

/** The longest month each month can be (February 29 in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class CronError extends Error {}

function valueOf(text: string, f: CronField): number {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    if (n < f.min || n > f.max) throw new CronError(`${f.name} ${n} is outside ${f.min}-${f.max}`);
    return n;
  }
  const lower = text.toLowerCase();
  const i = f.names?.findIndex((full) => lower === full || lower === full.slice(0, 3)) ?? -1;
  if (i < 0) throw new CronError(`"${text}" is not a ${f.name}${f.names ? ` (a number ${f.min}-${f.max} or a name such as ${f.names[0].slice(0, 3).toUpperCase()})` : ` (a number ${f.min}-${f.max})`}`);
  return f.min + i;
}

/** Every value one field matches. */
function fieldValues(text: string, f: CronField): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^([^/-]+)(?:-([^/-]+))?(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CronError(`"${item}" is not a valid ${f.name} item (a value, a range a-b, a step */n or a-b/n)`);
    const [, first, last, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new CronError(`the step in "${item}" must be at least 1`);
    const start = first === '*' ? f.min : valueOf(first, f);
    if (first === '*' && last !== undefined) throw new CronError(`"${item}" is not a ${f.name} range`);
    // `a/n` runs from a to the field's end, as `*/n` runs from its start.
    const end = last !== undefined ? valueOf(last, f) : first === '*' || stepText !== undefined ? f.max : start;
    if (end < start) throw new CronError(`the ${f.name} range "${item}" ends before it starts`);
    for (let v = start; v <= end; v += step) out.add(v);
  }
  return out;
}

/** One clear line when the text is not a five-field cron this tool accepts, else undefined. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  const example = 'e.g. "0 3 * * *" (03:00 UTC daily) or "30 1 * * SUN"';
  if (fields.length !== 5 || fields[0] === '') {
    return `--cron must be five fields (minute hour day-of-month month day-of-week), ${example}; got "${cron}"`;
  }
  try {
    const [, , days, months] = fields.map((text, i) => fieldValues(text, FIELDS[i]));
    // With the weekday field open, a day no chosen month has means the schedule never runs.
    if (fields[4] === '*' && ![...months].some((m) => [...days].some((d) => d <= MONTH_DAYS[m - 1]))) {
      return `--cron "${cron}" never runs: no chosen month has that day`;
    }
    return undefined;
  } catch (err) {
    if (err instanceof CronError) return `--cron "${cron}": ${err.message}; ${example}`;
    throw err;
  }
}
