/** `dbaas logs` options: bad input is one line and exit 2 (UsageError), before anything is read. */
import { LOG_COMPONENTS, isLogComponent, type LogComponent } from '../common/log-lines';
import { parseInstant } from '../common/timestamps';
import { parseDurationS } from './durations';
import { UsageError } from './errors';

const SINCE_FORMS = 'a duration (90s, 10m, 2h, 1d) or a time with a UTC offset (2026-05-01T10:00:00Z)';

/** The moment `--since` names, in ms since the epoch: a duration back from `nowMs`, or a written time. */
export function parseSince(v: string, nowMs: number = Date.now()): number {
  if (/^\d{4}-/.test(v.trim())) {
    const at = parseInstant(v);
    if ('problem' in at) throw new UsageError(`--since ${v} ${at.problem}; it takes ${SINCE_FORMS}`);
    return at.ms;
  }
  try {
    return nowMs - parseDurationS('--since', v) * 1000;
  } catch {
    throw new UsageError(`--since takes ${SINCE_FORMS}, got "${v}"`);
  }
}

export function parseGrep(v: string): RegExp {
  try {
    return new RegExp(v);
  } catch (err) {
    throw new UsageError(`--grep takes a regular expression: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function parseComponent(v: string): LogComponent {
  if (!isLogComponent(v)) throw new UsageError(`--component must be one of ${LOG_COMPONENTS.join(', ')}, got "${v}"`);
  return v;
}

/** Any member's name (pg-1, etcd-0, haproxy, pgbouncer-rw); whether the cluster has it is checked against its members. */
export function parseLogMember(v: string): string {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(v)) throw new UsageError(`--member takes a member name such as pg-1, etcd-0 or haproxy, got "${v}"`);
  return v;
}
