import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PARSED_LINE_PREFIXES, classifyMemberLine, formatLogLine, keepsLinePrefix, logLineJson, logLinesOf, parseDockerLine, type LogLine } from '../../common/log-lines';
import { labelWidth, memberLabels, pickLogMembers } from '../../common/log-sources';
import { ReorderBuffer, mergeByTime } from '../../common/log-merge';
import { parseComponent, parseGrep, parseLogMember, parseSince } from '../../client/log-args';
import { UsageError } from '../../client/errors';
import type { Member } from '../../common/inventory';

const usage = (fn: () => unknown): void => assert.throws(fn, (e: Error) => e instanceof UsageError && !e.message.includes('\n'));

test("Docker's timestamped lines: time to the microsecond, the text as written", () => {
  const l = parseDockerLine('2026-05-01T10:00:03.123456789Z 2026-05-01 10:00:03,120 INFO: no action. I am (pg-0), the leader with the lock\r');
  assert.deepEqual(l, {
    time: '2026-05-01T10:00:03.123456789Z',
    atUs: Date.parse('2026-05-01T10:00:03Z') * 1000 + 123456,
    text: '2026-05-01 10:00:03,120 INFO: no action. I am (pg-0), the leader with the lock',
  });
  assert.equal(parseDockerLine('2026-05-01T12:00:00+02:00 x')?.atUs, Date.parse('2026-05-01T10:00:00Z') * 1000);
  assert.equal(parseDockerLine('2026-05-01T10:00:00.5Z ')?.text, '');
  assert.equal(parseDockerLine('no time here'), undefined);
});

test('a Postgres member: Patroni by its comma, PostgreSQL by log_line_prefix, tools by name, the rest continues the line before', () => {
  const texts = [
    '2026-05-01 10:00:03,120 INFO: Demoting self (graceful)',
    '2026-05-01 10:00:03.456 UTC [57] LOG:  received fast shutdown request',
    '2026-05-01 10:00:03.456 UTC [57] DETAIL:  something',
    '\tcontinued statement text',
    '2026-05-01 10:00:04,001 ERROR: Exception during execution of long running task',
    'Traceback (most recent call last):',
    '  File "/usr/lib/python3/dist-packages/patroni/async_executor.py", line 1, in run',
    'pg_rewind: servers diverged at WAL location 0/3000060 on timeline 1',
    'ERROR: [082]: WAL segment 000000010000000000000003 was not archived before the 60000ms timeout',
    '2026-05-01 10:00:05.001 P00   INFO: restore command begin 2.45',
    'P00   WARN: a warning on the console',
    '2026-05-01 10:00:06 UTC [58] LOG:  %t prefix',
  ];
  let previous: 'patroni' | 'postgres' | undefined;
  const got = texts.map((t) => (previous = classifyMemberLine(t, previous)));
  assert.deepEqual(got, ['patroni', 'postgres', 'postgres', 'postgres', 'patroni', 'patroni', 'patroni', 'postgres', 'postgres', 'postgres', 'postgres', 'postgres']);
  assert.equal(classifyMemberLine('an unknown first line'), 'postgres');
});

test('every log_line_prefix `cluster config set` allows gives lines that read as PostgreSQL\'s, after a Patroni traceback too', () => {
  // What PostgreSQL writes for the prefixes the tests of the managed parameters allow (process 61, user app, database orders).
  const written: [string, string][] = [
    ['%m [%p] ', '2026-05-01 10:00:03.456 UTC [61] LOG:  checkpoint starting'],
    ['%m [%p] %q%u@%d ', '2026-05-01 10:00:03.456 UTC [61] app@orders LOG:  duration: 1.2 ms'],
    ['%m [%p] %q%u@%d ', '2026-05-01 10:00:03.456 UTC [61] LOG:  checkpoint starting'],
    ['%t [%p] user=%u,db=%d ', '2026-05-01 10:00:03 CEST [61] user=app,db=orders LOG:  statement: select 1'],
  ];
  for (const [prefix, line] of written) {
    assert.ok(keepsLinePrefix(prefix), prefix);
    assert.equal(classifyMemberLine(line, 'patroni'), 'postgres', line);
  }
  assert.deepEqual(PARSED_LINE_PREFIXES, ['%m [%p] ', '%t [%p] ']);
  assert.equal(classifyMemberLine('2026-05-01 10:00:03 UTC [61]: LOG:  statement: select 1', 'patroni'), 'patroni', "why '%t [%p]: ' is refused");
});

test('lines of other members are their kind; a Postgres member carries its last component across reads', () => {
  const t = (text: string) => ({ time: 't', atUs: 1, text });
  assert.deepEqual(logLinesOf({ name: 'etcd-0', host: 'local', kind: 'etcd' }, [t('2026-05-01 10:00:00.000000 I | raft: x')]).map((l) => l.component), ['etcd']);
  assert.deepEqual(logLinesOf({ name: 'pgbouncer-rw', host: 'local', kind: 'pgbouncer' }, [t('x')]).map((l) => l.component), ['pgbouncer']);
  assert.deepEqual(logLinesOf({ name: 'pg-0', host: 'local', kind: 'postgres' }, [t('  File "x", line 1'), t('2026-05-01 10:00:03.456 UTC [57] LOG:  x')], 'patroni').map((l) => l.component), ['patroni', 'postgres']);
});

const line = (member: string, atUs: number, text = `${member}@${atUs}`): LogLine => ({ time: String(atUs), atUs, member, host: 'local', component: 'patroni', line: text });

test('merge: time order across containers, ties keep their container order', () => {
  const a = [line('pg-0', 1), line('pg-0', 5), line('pg-0', 5, 'second at 5')];
  const b = [line('pg-1', 2), line('pg-1', 5), line('pg-1', 9)];
  assert.deepEqual(mergeByTime([a, b]).map((l) => l.line), ['pg-0@1', 'pg-1@2', 'pg-0@5', 'second at 5', 'pg-1@5', 'pg-1@9']);
});

test('follow: a line waits its window, then leaves with every earlier line held, in time order', () => {
  const buf = new ReorderBuffer<LogLine>(500);
  buf.push(line('pg-0', 200), 1000);
  buf.push(line('pg-1', 100), 1300);
  buf.push(line('pg-1', 300), 1300);
  assert.deepEqual(buf.take(1400), [], 'nothing has waited 500 ms yet');
  // pg-0's line is due; pg-1's earlier line goes with it, its later one stays.
  assert.deepEqual(buf.take(1500).map((l) => l.line), ['pg-1@100', 'pg-0@200']);
  assert.equal(buf.size, 1);
  assert.deepEqual(buf.flush().map((l) => l.line), ['pg-1@300']);
  assert.equal(buf.size, 0);
});

const member = (name: string, kind: Member['kind'], host = 'local'): Member => ({
  cluster: 'orders', name, kind, host, container: `dbaas-orders-${name}`, state: 'running', createdAt: '', ip: null, published: {}, portLabels: {},
  nofailover: false, repository: null, backupServerPort: null, createdWith: null, generation: 1,
});
const members = [member('pg-0', 'postgres'), member('pg-1', 'postgres', 'h1'), member('etcd-0', 'etcd'), member('haproxy', 'haproxy'), member('haproxy', 'haproxy', 'h1'), member('pgbouncer-rw', 'pgbouncer')];

test('which members: by name and component; an unknown member or a component it does not write is one line', () => {
  const names = (r: ReturnType<typeof pickLogMembers>): string[] => ('members' in r ? r.members.map((m) => `${m.name}@${m.host}`) : [r.problem]);
  assert.equal(names(pickLogMembers('orders', members)).length, members.length);
  assert.deepEqual(names(pickLogMembers('orders', members, 'pg-1')), ['pg-1@h1']);
  assert.deepEqual(names(pickLogMembers('orders', members, undefined, 'patroni')), ['pg-0@local', 'pg-1@h1']);
  assert.deepEqual(names(pickLogMembers('orders', members, undefined, 'haproxy')), ['haproxy@local', 'haproxy@h1']);
  assert.deepEqual(names(pickLogMembers('orders', members, 'nosuch')), ['cluster orders has no member nosuch (members: pg-0, pg-1, etcd-0, haproxy, pgbouncer-rw)']);
  assert.deepEqual(names(pickLogMembers('orders', members, 'etcd-0', 'postgres')), ['etcd-0 writes no postgres lines (it writes etcd)']);
  assert.deepEqual(names(pickLogMembers('orders', members.filter((m) => m.kind !== 'pgbouncer'), undefined, 'pgbouncer')), ['cluster orders has no pgbouncer container']);
});

test('text form: member/component aligned, the host named where two hosts run a member of that name; JSON one object per line', () => {
  const label = memberLabels(members);
  assert.equal(label({ member: 'haproxy', host: 'h1' }), 'haproxy@h1');
  assert.equal(label({ member: 'pg-1', host: 'h1' }), 'pg-1');
  const width = labelWidth(members);
  assert.equal(width, 'pgbouncer-rw/pgbouncer'.length);
  assert.equal(labelWidth(members, 'haproxy'), 'haproxy@local/haproxy'.length);
  assert.equal(labelWidth(members, 'postgres'), 'pg-0/postgres'.length);
  const l: LogLine = { time: '2026-05-01T10:00:03.123456789Z', atUs: 1, member: 'pg-0', host: 'local', component: 'patroni', line: 'INFO: x' };
  assert.equal(formatLogLine(l, label(l), 14), 'pg-0/patroni   INFO: x');
  assert.deepEqual(JSON.parse(logLineJson(l)), { time: l.time, member: 'pg-0', host: 'local', component: 'patroni', line: 'INFO: x' });
});

test('--since, --grep, --component, --member: bad input is one line (exit 2)', () => {
  const now = Date.parse('2026-05-01T10:00:00Z');
  assert.equal(parseSince('10m', now), now - 600_000);
  assert.equal(parseSince('2h', now), now - 7_200_000);
  assert.equal(parseSince('90', now), now - 90_000);
  assert.equal(parseSince('2026-05-01T09:00:00Z', now), Date.parse('2026-05-01T09:00:00Z'));
  assert.equal(parseSince('2026-05-01 11:00:00+02:00', now), Date.parse('2026-05-01T09:00:00Z'));
  usage(() => parseSince('10 minutes', now));
  usage(() => parseSince('-5m', now));
  usage(() => parseSince('2026-02-30T10:00:00Z', now));
  usage(() => parseSince('2026-05-01T10:00:00', now));
  assert.ok(parseGrep('promoted|demot').test('Demoting self'.toLowerCase()));
  usage(() => parseGrep('(unclosed'));
  assert.equal(parseComponent('patroni'), 'patroni');
  usage(() => parseComponent('kernel'));
  assert.equal(parseLogMember('pgbouncer-rw'), 'pgbouncer-rw');
  usage(() => parseLogMember('Bad Name'));
});
