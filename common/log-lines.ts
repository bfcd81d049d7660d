/**
 * Lines of a cluster's container logs as `dbaas logs` shows them: Docker's timestamped lines, the
 * component each belongs to, and their text and JSON forms. Pure.
 *
 * A Postgres member's container carries two programs on one stream. Patroni logs with Python's
 * logging in its default format (`%(asctime)s %(levelname)s: %(message)s` in 3.0.2 and 4.0.7;
 * patroni.yml sets no `log:` section): `2026-05-01 10:00:00,123 INFO: ...`, a comma before the
 * milliseconds. PostgreSQL writes to the stderr Patroni started it with (no logging_collector),
 * each line behind log_line_prefix, `%m [%p] ` by default since PostgreSQL 10 (dbaas leaves it):
 * `2026-05-01 10:00:00.123 UTC [42] LOG:  ...`, a dot. A line of neither shape continues the line
 * before it (a Python traceback, a multi-line statement), unless a PostgreSQL tool or pgBackRest
 * (archive_command, restore_command) wrote it.
 */
import type { MemberKind } from './inventory';

export type LogComponent = 'postgres' | 'patroni' | 'etcd' | 'haproxy' | 'pgbouncer' | 'metrics';
export const LOG_COMPONENTS: readonly LogComponent[] = ['postgres', 'patroni', 'etcd', 'haproxy', 'pgbouncer', 'metrics'];

export const isLogComponent = (v: string): v is LogComponent => (LOG_COMPONENTS as readonly string[]).includes(v);

/** The components whose lines a member's container holds. */
export function componentsOf(kind: MemberKind): LogComponent[] {
  return kind === 'postgres' ? ['patroni', 'postgres'] : [kind];
}

/** A line as Docker returns it with `timestamps`: its time, and the text the container wrote. */
export interface TimedLine {
  /** Docker's RFC 3339 time, nanoseconds included. */
  time: string;
  /** The same time in microseconds since the epoch: what lines are ordered by. */
  atUs: number;
  text: string;
}

const DOCKER_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}) ?/;

/** The time and text of one line of Docker's output, or undefined for a line without Docker's time in front. */
export function parseDockerLine(raw: string): TimedLine | undefined {
  const m = DOCKER_TIME.exec(raw);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const micros = Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return { time: m[0].trimEnd(), atUs: seconds * 1000 + micros, text: raw.slice(m[0].length).replace(/\r$/, '') };
}

const PATRONI_LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (?:DEBUG|INFO|WARNING|ERROR|CRITICAL): /;
/** `%m [%p] ` or `%t [%p] `: a time (milliseconds after a dot, if any), its zone, the process id. */
const POSTGRES_LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{3})? \S+ \[\d+\] /;
/** The log_line_prefix beginnings POSTGRES_LINE recognizes; what follows them is free. */
export const PARSED_LINE_PREFIXES = ['%m [%p] ', '%t [%p] '];

/**
 * Whether PostgreSQL's lines with this log_line_prefix still read as PostgreSQL's (`cluster config
 * set` refuses others): it begins with the time and process id as the default does, say
 * `%m [%p] %q%u@%d `. Anything else (no prefix, `%t [%p]: `, `%p %m`) makes them indistinguishable
 * from a Patroni traceback's continuation lines.
 */
export const keepsLinePrefix = (prefix: string): boolean => PARSED_LINE_PREFIXES.some((p) => prefix.startsWith(p));
/**
 * Programs of PostgreSQL (pg_rewind, pg_basebackup, initdb, pg_ctl) name themselves. pgBackRest
 * (archive_command, restore_command, a restore bootstrap) writes `LEVEL: ` to stderr and
 * `[time ]P00   LEVEL: ` to stdout (its src/common/log.c).
 */
const POSTGRES_TOOL_LINE = /^(?:pg_\w+|initdb|postgres): |^(?:WARN|ERROR|ASSERT): |^(?:\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} )?P\d{2,} +[A-Z]+: /;

export type MemberLineComponent = 'patroni' | 'postgres';

/** Which program of a Postgres member wrote `text`; `previous`: the component of the line before it in the same container. */
export function classifyMemberLine(text: string, previous?: MemberLineComponent): MemberLineComponent {
  if (PATRONI_LINE.test(text)) return 'patroni';
  if (POSTGRES_LINE.test(text) || POSTGRES_TOOL_LINE.test(text)) return 'postgres';
  return previous ?? 'postgres';
}

export interface LogLine {
  time: string;
  atUs: number;
  member: string;
  host: string;
  component: LogComponent;
  line: string;
}

/** A member's Docker lines as log lines: a Postgres member's split between Patroni and PostgreSQL. */
export function logLinesOf(member: { name: string; host: string; kind: MemberKind }, lines: TimedLine[], previous?: MemberLineComponent): LogLine[] {
  let last = previous;
  return lines.map((l) => {
    let component: LogComponent = member.kind;
    if (member.kind === 'postgres') component = last = classifyMemberLine(l.text, last);
    return { time: l.time, atUs: l.atUs, member: member.name, host: member.host, component, line: l.text };
  });
}

/** `member/component` padded to `width`, then the line as the container wrote it. */
export function formatLogLine(l: LogLine, label: string, width: number): string {
  return `${`${label}/${l.component}`.padEnd(width)} ${l.line}`;
}

/** One JSON object per line (`--json`). */
export function logLineJson(l: LogLine): string {
  return JSON.stringify({ time: l.time, member: l.member, host: l.host, component: l.component, line: l.line });
}
