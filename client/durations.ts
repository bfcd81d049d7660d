/** Durations on the command line: `90`, `90s`, `5m`, `2h`, `1d` (seconds when no unit). */
import { UsageError } from './errors';

const UNIT_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Whole seconds; a usage error (exit 2) for anything else. */
export function parseDurationS(flag: string, v: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag} takes a duration such as 90s, 5m, 2h or 0, got "${v}"`);
  return Number(m[1]) * UNIT_S[m[2] ?? ''];
}
