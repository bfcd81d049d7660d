/** PostgreSQL parameter values against pg_settings rows, the managed list, and the decisions of `cluster config set|unset`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatInUnit, parseBool, parseValue, showsValue, spelledByServer, takesRestart, type PgSetting } from '../../common/parameter-values';
import { PATRONI_COMMAND_LINE_DEFAULTS, RENDERED_FLOORS, floorProblem, hiddenFromView, managedProblem } from '../../common/managed-parameters';
import {
  changeProblems, leaderFirstChanges, memberState, normalizedChanges, parameterResults, parseAssignment, setParametersInputProblem, type SetParametersInput,
} from '../../common/set-parameters';
import { BASE_PARAMETERS } from '../../common/render/patroni';
import { originOf } from '../../client/parameter-view';

const row = (name: string, r: Partial<PgSetting>): PgSetting => ({
  name, setting: '0', shown: '0', unit: null, vartype: 'integer', enumvals: null, min_val: null, max_val: null,
  context: 'user', source: 'default', sourcefile: null, pending_restart: false, ...r,
});

/** As PostgreSQL 15 reports them. */
const ROWS: Record<string, PgSetting> = {
  work_mem: row('work_mem', { setting: '4096', shown: '4MB', unit: 'kB', min_val: '64', max_val: '2147483647' }),
  shared_buffers: row('shared_buffers', { setting: '16384', shown: '128MB', unit: '8kB', min_val: '16', max_val: '1073741823', context: 'postmaster' }),
  statement_timeout: row('statement_timeout', { unit: 'ms', min_val: '0', max_val: '2147483647' }),
  checkpoint_timeout: row('checkpoint_timeout', { setting: '300', unit: 's', min_val: '30', max_val: '86400', context: 'sighup' }),
  log_rotation_age: row('log_rotation_age', { setting: '1440', unit: 'min', min_val: '0', max_val: '35791394', context: 'sighup' }),
  wal_level: row('wal_level', { setting: 'replica', vartype: 'enum', enumvals: ['minimal', 'replica', 'logical'], context: 'postmaster', source: 'command line' }),
  synchronous_commit: row('synchronous_commit', { setting: 'on', vartype: 'enum', enumvals: ['local', 'remote_write', 'remote_apply', 'on', 'off'] }),
  jit: row('jit', { setting: 'on', vartype: 'bool' }),
  random_page_cost: row('random_page_cost', { setting: '4', vartype: 'real', min_val: '0', max_val: '1.79769e+308' }),
  vacuum_cost_delay: row('vacuum_cost_delay', { setting: '0', vartype: 'real', unit: 'ms', min_val: '0', max_val: '100' }),
  search_path: row('search_path', { setting: '"$user", public', vartype: 'string' }),
  TimeZone: row('TimeZone', { setting: 'Etc/UTC', vartype: 'string', context: 'user', source: 'configuration file', sourcefile: '/var/lib/dbaas/pgdata/postgresql.base.conf' }),
  max_connections: row('max_connections', { setting: '100', min_val: '1', max_val: '262143', context: 'postmaster', source: 'command line' }),
  superuser_reserved_connections: row('superuser_reserved_connections', { setting: '3', min_val: '0', max_val: '262143', context: 'postmaster', boot_val: '3' }),
  max_wal_senders: row('max_wal_senders', { setting: '20', min_val: '0', max_val: '262143', context: 'postmaster', source: 'command line' }),
  wal_keep_size: row('wal_keep_size', { setting: '128', unit: 'MB', min_val: '0', max_val: '2147483647', context: 'sighup', source: 'command line' }),
};
const settings = Object.values(ROWS);
const setting = (r: PgSetting, raw: string): string | undefined => {
  const p = parseValue(r, raw);
  return 'problem' in p ? undefined : p.setting;
};
const problem = (r: PgSetting, raw: string): string | undefined => {
  const p = parseValue(r, raw);
  return 'problem' in p ? p.problem : undefined;
};

test('memory sizes in any unit PostgreSQL takes, converted to the row\'s unit (kB, 8kB)', () => {
  assert.equal(setting(ROWS.work_mem, '64MB'), '65536');
  assert.equal(setting(ROWS.work_mem, '64 MB'), '65536');
  assert.equal(setting(ROWS.work_mem, '1GB'), '1048576');
  assert.equal(setting(ROWS.work_mem, '1.5GB'), '1572864');
  assert.equal(setting(ROWS.work_mem, '1024'), '1024', 'no unit: the row\'s (kB)');
  assert.equal(setting(ROWS.shared_buffers, '256MB'), '32768', '256MB in units of 8kB');
  assert.equal(setting(ROWS.shared_buffers, '1TB'), '134217728');
  assert.deepEqual(parseValue(ROWS.work_mem, ' 64 MB '), { value: '64MB', setting: '65536' }, 'sent to Patroni without spaces');
  assert.deepEqual(parseValue(ROWS.max_connections, '200'), { value: '200', setting: '200' });
});

test('times in us, ms, s, min, h, d, converted to the row\'s unit', () => {
  assert.equal(setting(ROWS.statement_timeout, '30s'), '30000');
  assert.equal(setting(ROWS.statement_timeout, '2min'), '120000');
  assert.equal(setting(ROWS.checkpoint_timeout, '15min'), '900');
  assert.equal(setting(ROWS.checkpoint_timeout, '1h'), '3600');
  assert.equal(setting(ROWS.checkpoint_timeout, '1d'), '86400');
  assert.equal(setting(ROWS.log_rotation_age, '2d'), '2880');
  assert.equal(setting(ROWS.vacuum_cost_delay, '500us'), '0.5', 'a real keeps its fraction');
});

test('wrong units, wrong types and values out of range are refused with the reason', () => {
  assert.equal(problem(ROWS.work_mem, 'banana'), 'work_mem takes a number (with a unit: B, kB, MB, GB or TB), got "banana"');
  assert.match(problem(ROWS.work_mem, '64mb') ?? '', /memory size in B, kB, MB, GB or TB \(units are case-sensitive\), got "64mb"/);
  assert.match(problem(ROWS.work_mem, '10s') ?? '', /memory size/);
  assert.match(problem(ROWS.statement_timeout, '5MB') ?? '', /time in us, ms, s, min, h or d/);
  assert.equal(problem(ROWS.max_connections, '10kB'), 'max_connections takes a plain number without a unit, got "10kB"');
  assert.equal(problem(ROWS.work_mem, '32kB'), 'work_mem must be between 64kB and 2147483647kB, got "32kB"');
  assert.equal(problem(ROWS.shared_buffers, '64kB'), 'shared_buffers must be between 128kB and 8589934584kB, got "64kB"');
  assert.equal(problem(ROWS.checkpoint_timeout, '2d'), 'checkpoint_timeout must be between 30s and 1d, got "2d"');
  assert.equal(problem(ROWS.synchronous_commit, 'maybe'), 'synchronous_commit must be one of local, remote_write, remote_apply, on, off, got "maybe"');
  assert.equal(problem(ROWS.jit, 'sometimes'), 'jit takes on or off, got "sometimes"');
  assert.match(problem(ROWS.search_path, 'a\nb') ?? '', /control character/);
});

test('booleans as PostgreSQL reads them; enums case-insensitive, sent in their own spelling', () => {
  for (const v of ['on', 'ON', 'true', 't', 'yes', 'y', '1']) assert.equal(parseBool(v), true, v);
  for (const v of ['off', 'of', 'false', 'f', 'no', 'n', '0']) assert.equal(parseBool(v), false, v);
  for (const v of ['o', '', 'maybe', '2']) assert.equal(parseBool(v), undefined, v);
  assert.deepEqual(parseValue(ROWS.jit, 'yes'), { value: 'on', setting: 'on' });
  assert.deepEqual(parseValue(ROWS.wal_level, 'LOGICAL'), { value: 'logical', setting: 'logical' });
});

test('showsValue: what a member reports once it runs with the value', () => {
  assert.ok(showsValue({ ...ROWS.work_mem, setting: '65536' }, '64MB'));
  assert.ok(!showsValue(ROWS.work_mem, '64MB'));
  assert.ok(showsValue({ ...ROWS.shared_buffers, setting: '32768' }, '256MB'));
  assert.ok(showsValue({ ...ROWS.TimeZone, setting: 'UTC' }, 'utc'), 'strings PostgreSQL canonicalizes');
  assert.ok(showsValue({ ...ROWS.search_path, setting: 'a, b' }, 'a,b'));
  assert.ok(showsValue({ ...ROWS.random_page_cost, setting: '1.1' }, '1.1'));
  assert.ok(!showsValue(ROWS.work_mem, 'banana'));
});

test('bounds print in the largest unit that holds them exactly', () => {
  assert.equal(formatInUnit(64, 'kB'), '64kB');
  assert.equal(formatInUnit(131072, 'kB'), '128MB');
  assert.equal(formatInUnit(16, '8kB'), '128kB');
  assert.equal(formatInUnit(86400, 's'), '1d');
  assert.equal(formatInUnit(0, 'ms'), '0');
  assert.equal(formatInUnit(262143, null), '262143');
});

test('a restart: postmaster context, or a parameter Patroni passes on the command line', () => {
  assert.ok(takesRestart(ROWS.shared_buffers));
  assert.ok(takesRestart(ROWS.wal_keep_size), 'sighup in PostgreSQL, but on the command line');
  assert.ok(!takesRestart(ROWS.work_mem));
});

test('managed parameters are refused with the reason; a few values and floors are allowed', () => {
  assert.match(managedProblem('port', '1') ?? '', /^port cannot be set: Patroni sets it/);
  assert.match(managedProblem('archive_command', '/bin/true') ?? '', /pgBackRest/);
  assert.match(managedProblem('ssl_cert_file', 'x') ?? '', /certificates/);
  assert.match(managedProblem('recovery_target_time', 'x') ?? '', /recovery settings/);
  assert.match(managedProblem('synchronous_standby_names', '*') ?? '', /set-sync/);
  assert.match(managedProblem('full_page_writes', 'off') ?? '', /pg_rewind/);
  assert.equal(managedProblem('wal_level', 'logical'), undefined, 'logical: what blue-green upgrades of old clusters need');
  assert.match(managedProblem('wal_level', 'replica') ?? '', /^wal_level cannot be set to "replica"/);
  assert.match(managedProblem('wal_level', null) ?? '', /^wal_level cannot be unset/);
  assert.equal(managedProblem('shared_preload_libraries', 'pg_stat_statements, auto_explain'), undefined);
  assert.equal(managedProblem('shared_preload_libraries', ''), undefined);
  assert.equal(managedProblem('shared_preload_libraries', null), undefined);
  assert.match(managedProblem('shared_preload_libraries', 'pg_stat_statements,timescaledb') ?? '', /member image ships/);
  assert.equal(managedProblem('work_mem', '64MB'), undefined);
  assert.equal(managedProblem('synchronous_commit', 'off'), undefined, 'per transaction anyway; set-sync does not set it');
  assert.equal(managedProblem('max_wal_senders', '30'), undefined);
  assert.match(managedProblem('max_wal_senders', null) ?? '', /cannot be unset/);
  assert.equal(managedProblem('max_connections', null), undefined, 'unset: Patroni\'s default, 100');
  assert.match(floorProblem(ROWS.max_wal_senders, '10') ?? '', /^max_wal_senders must be at least 20/);
  assert.equal(floorProblem(ROWS.max_wal_senders, '20'), undefined);
  assert.match(floorProblem(ROWS.wal_keep_size, '8MB') ?? '', /at least 16MB/);
  assert.equal(floorProblem(ROWS.wal_keep_size, '1GB'), undefined);
  assert.match(floorProblem(ROWS.max_connections, '20') ?? '', /below 25/);
  assert.ok(hiddenFromView('primary_conninfo') && hiddenFromView('ssl_key_file') && !hiddenFromView('wal_level') && !hiddenFromView('work_mem'));
});

test('log parameters that would take PostgreSQL\'s lines off the container\'s stderr, or hide them from `dbaas logs`, are refused with the reason', () => {
  assert.match(managedProblem('logging_collector', 'on') ?? '', /^logging_collector cannot be set to "on": `dbaas logs` reads PostgreSQL's lines from the member container's stderr; the collector/);
  for (const off of ['off', 'false', 'no', '0']) assert.equal(managedProblem('logging_collector', off), undefined, off);
  assert.equal(managedProblem('logging_collector', null), undefined, 'unset: off');
  for (const v of ['csvlog', 'stderr,csvlog', 'jsonlog', 'syslog', 'stderr, syslog', '']) {
    assert.match(managedProblem('log_destination', v) ?? '', /^log_destination cannot be set to ".*": .*no syslog runs in the member/, v);
  }
  for (const v of ['stderr', 'STDERR', ' stderr ', 'stderr,stderr', '"stderr"']) assert.equal(managedProblem('log_destination', v), undefined, v);
  assert.equal(managedProblem('log_destination', null), undefined);
  for (const v of ['', '%t [%p]: ', '[%p] %m ', "'%m [%p] '", '%m %p ', '%m [%p]']) {
    assert.match(managedProblem('log_line_prefix', v) ?? '', /^log_line_prefix cannot be set to ".*": .*it must begin with '%m \[%p\] ' or '%t \[%p\] '/, JSON.stringify(v));
  }
  for (const v of ['%m [%p] ', '%m [%p] %q%u@%d ', '%t [%p] user=%u,db=%d,app=%a,client=%h ']) assert.equal(managedProblem('log_line_prefix', v), undefined, v);
  assert.equal(managedProblem('log_line_prefix', null), undefined, 'unset: PostgreSQL\'s %m [%p]');
  for (const name of ['log_min_duration_statement', 'log_statement', 'log_connections', 'log_lock_waits', 'log_min_messages', 'log_directory']) {
    assert.equal(managedProblem(name, '1'), undefined, name);
  }
  const prefix = row('log_line_prefix', { setting: '%m [%p] ', vartype: 'string', context: 'sighup' });
  assert.deepEqual(parseValue(prefix, '%m [%p] %u@%d '), { value: '%m [%p] %u@%d ', setting: '%m [%p] %u@%d ' }, 'the space before the message is kept');
  assert.deepEqual(changeProblems([{ name: 'log_line_prefix', value: '%p ' }], [prefix]).map((p) => p.split(':')[0]), ['log_line_prefix cannot be set to "%p "'], 'the CLI\'s check');
});

test('the floors are what dbaas renders, and Patroni\'s defaults for an unset parameter are its own', () => {
  for (const [name, v] of Object.entries(RENDERED_FLOORS)) assert.equal(v, BASE_PARAMETERS[name], name);
  assert.equal(PATRONI_COMMAND_LINE_DEFAULTS.wal_keep_size, BASE_PARAMETERS.wal_keep_size);
});

test('KEY=VALUE from the command line; names in lower case', () => {
  assert.deepEqual(parseAssignment('work_mem=64MB'), { name: 'work_mem', value: '64MB' });
  assert.deepEqual(parseAssignment('TimeZone=Europe/Paris'), { name: 'timezone', value: 'Europe/Paris' });
  assert.deepEqual(parseAssignment('search_path=a,b=c'), { name: 'search_path', value: 'a,b=c' }, 'split at the first =');
  assert.deepEqual(parseAssignment('shared_preload_libraries='), { name: 'shared_preload_libraries', value: '' });
  assert.deepEqual(parseAssignment('work_mem'), { problem: 'expected KEY=VALUE, got "work_mem"' });
  assert.deepEqual(parseAssignment('=1'), { problem: 'expected KEY=VALUE, got "=1"' });
  assert.match((parseAssignment('work-mem=1') as { problem: string }).problem, /parameter names look like/);
  assert.deepEqual(parseAssignment('work_mem', true), { name: 'work_mem', value: null });
  assert.deepEqual(parseAssignment('work_mem=1', true), { problem: 'expected a parameter name, got "work_mem=1"' });
});

test('the workflow\'s input check: names, values, restart mode, managed parameters, duplicates', () => {
  const input = (o: Partial<SetParametersInput>): SetParametersInput => ({ cluster: 'orders', changes: [{ name: 'work_mem', value: '64MB' }], restart: 'none', ...o });
  assert.equal(setParametersInputProblem(input({})), undefined);
  assert.match(setParametersInputProblem(input({ cluster: '../x' })) ?? '', /cluster name/);
  assert.match(setParametersInputProblem(input({ restart: 'sometimes' as 'none' })) ?? '', /^restart must be one of rolling, none/);
  assert.match(setParametersInputProblem(input({ changes: [] })) ?? '', /1 to 64 parameters/);
  assert.match(setParametersInputProblem(input({ changes: [{ name: "x'; drop", value: '1' }] })) ?? '', /parameter names look like/);
  assert.match(setParametersInputProblem(input({ changes: [{ name: 'work_mem', value: 64 as unknown as string }] })) ?? '', /must be a string/);
  assert.match(setParametersInputProblem(input({ changes: [{ name: 'port', value: '1' }] })) ?? '', /^port cannot be set/);
  assert.match(setParametersInputProblem(input({ changes: [{ name: 'a', value: '1' }, { name: 'a', value: null }] })) ?? '', /named twice/);
});

test('changeProblems: every reason in one list; normalizedChanges: what goes to Patroni', () => {
  assert.deepEqual(changeProblems([{ name: 'work_mem', value: '64MB' }, { name: 'jit', value: 'off' }], settings), []);
  assert.deepEqual(changeProblems([{ name: 'nosuch', value: '1' }, { name: 'work_mem', value: 'banana' }], settings), [
    'unknown parameter "nosuch"', 'work_mem takes a number (with a unit: B, kB, MB, GB or TB), got "banana"',
  ]);
  assert.match(changeProblems([{ name: 'max_wal_senders', value: '5' }], settings)[0], /at least 20/);
  const altered = [...settings, row('work_mem', { ...ROWS.work_mem, source: 'configuration file', sourcefile: '/var/lib/dbaas/pgdata/postgresql.auto.conf' })].slice(1);
  assert.match(changeProblems([{ name: 'work_mem', value: '8MB' }], altered)[0], /ALTER SYSTEM RESET work_mem first/);
  assert.match(changeProblems([{ name: 'max_connections', value: '25' }, { name: 'superuser_reserved_connections', value: '30' }], settings)[0],
    /\(30\) must stay below max_connections \(25\)/);
  assert.deepEqual(normalizedChanges([{ name: 'jit', value: 'yes' }, { name: 'work_mem', value: '64 MB' }, { name: 'timezone', value: null }], settings),
    [{ name: 'jit', value: 'on' }, { name: 'work_mem', value: '64MB' }, { name: 'timezone', value: null }]);
});

test('memberState: applied, waiting for Patroni\'s reload, or pending a restart', () => {
  const set = { name: 'work_mem', value: '64MB' };
  assert.equal(memberState(ROWS.work_mem, set, false), 'waiting');
  assert.equal(memberState({ ...ROWS.work_mem, setting: '65536' }, set, false), 'applied');
  assert.equal(memberState(undefined, set, false), 'waiting');
  const sb = { name: 'shared_buffers', value: '256MB' };
  assert.equal(memberState({ ...ROWS.shared_buffers, pending_restart: true }, sb, true), 'pending');
  assert.equal(memberState({ ...ROWS.shared_buffers, setting: '32768' }, sb, false), 'applied', 'after its restart');
  // On Patroni's command line pg_settings flags nothing: Patroni's pending_restart is the sign.
  const mc = { name: 'max_connections', value: '200' };
  assert.equal(memberState(ROWS.max_connections, mc, false), 'waiting');
  assert.equal(memberState(ROWS.max_connections, mc, true), 'pending');
  // Unset: applied once Patroni's postgresql.conf no longer sets it (postgresql.base.conf or the default may).
  const patroniConf = { source: 'configuration file', sourcefile: '/var/lib/dbaas/pgdata/postgresql.conf' };
  assert.equal(memberState({ ...ROWS.work_mem, ...patroniConf }, { name: 'work_mem', value: null }, false), 'waiting');
  assert.equal(memberState(ROWS.work_mem, { name: 'work_mem', value: null }, false), 'applied');
  assert.equal(memberState(ROWS.TimeZone, { name: 'timezone', value: null }, false), 'applied');
  assert.equal(memberState({ ...ROWS.max_connections, setting: '200' }, { name: 'max_connections', value: null }, true), 'pending', 'back to Patroni\'s 100 at the restart');
  assert.equal(memberState(ROWS.max_connections, { name: 'max_connections', value: null }, false), 'applied');
});

test('parameterResults: applied at once, pending a restart, or given by the rolling restart', () => {
  const changes = [{ name: 'work_mem', value: '64MB' }, { name: 'shared_buffers', value: '256MB' }];
  const seen = (pending: string[][]) => ({
    members: ['pg-0', 'pg-1', 'pg-2'].map((m, k) => ({ member: m, applied: ['work_mem'], pending: pending[k] ?? [] })), notRunning: [],
  });
  const before = seen([['shared_buffers'], ['shared_buffers'], []]);
  assert.deepEqual(parameterResults(changes, before, undefined, []).map((r) => [r.name, r.outcome, r.pendingOn, r.restartedOn]), [
    ['work_mem', 'applied', [], []], ['shared_buffers', 'pending restart', ['pg-0', 'pg-1'], []],
  ]);
  assert.deepEqual(parameterResults(changes, before, seen([]), ['pg-1', 'pg-0']).map((r) => [r.name, r.outcome, r.pendingOn, r.restartedOn]), [
    ['work_mem', 'applied', [], []], ['shared_buffers', 'restarted', [], ['pg-0', 'pg-1']],
  ]);
});

test('where a value comes from, as `cluster config` shows it', () => {
  const file = (f: string) => ({ source: 'configuration file', sourcefile: `/var/lib/dbaas/pgdata/${f}` });
  assert.equal(originOf(file('postgresql.conf'), true), 'DCS');
  assert.equal(originOf(file('postgresql.conf'), false), 'patroni.yml');
  assert.equal(originOf(file('postgresql.base.conf'), false), 'initdb');
  assert.equal(originOf(file('postgresql.auto.conf'), false), 'ALTER SYSTEM');
  assert.equal(originOf({ source: 'command line', sourcefile: null }, true), 'command line (DCS)');
  assert.equal(originOf({ source: 'override', sourcefile: null }, false), 'override');
});

test('max_slot_wal_keep_size: only unlimited (-1) or unset; a limit would invalidate replicas\' and upgrades\' slots', () => {
  assert.match(managedProblem('max_slot_wal_keep_size', '10GB') ?? '', /^max_slot_wal_keep_size cannot be set to "10GB": a replica's or a blue-green upgrade's slot .* is invalidated.*unlimited \(-1\)$/);
  assert.equal(managedProblem('max_slot_wal_keep_size', '-1'), undefined);
  assert.equal(managedProblem('max_slot_wal_keep_size', null), undefined, 'unset: PostgreSQL\'s -1');
  assert.ok(!hiddenFromView('max_slot_wal_keep_size'), 'shown: a DBA looks for it');
});

test('connection slots are checked at the values after the change: an unset max_connections at Patroni\'s 100, an unset reserve at PostgreSQL\'s default', () => {
  const rows = [{ ...ROWS.max_connections, setting: '300' }, { ...ROWS.superuser_reserved_connections, setting: '150', source: 'configuration file' }];
  assert.deepEqual(changeProblems([{ name: 'work_mem', value: '8MB' }], [...rows, ROWS.work_mem]), [], 'as it runs: 150 below 300');
  assert.deepEqual(changeProblems([{ name: 'max_connections', value: null }], rows), [
    'superuser_reserved_connections + reserved_connections (150) must stay below max_connections (100), or PostgreSQL does not start',
  ]);
  assert.deepEqual(changeProblems([{ name: 'max_connections', value: null }, { name: 'superuser_reserved_connections', value: null }], rows), [], 'both back: 3 below 100');
  assert.deepEqual(changeProblems([{ name: 'max_connections', value: '150' }, { name: 'superuser_reserved_connections', value: '10' }], rows), []);
});

test('leaderFirstChanges: a decrease of what replicas run at least at their primary\'s value, below what the leader runs', () => {
  assert.deepEqual(leaderFirstChanges([{ name: 'max_connections', value: '50' }], settings), ['max_connections']);
  assert.deepEqual(leaderFirstChanges([{ name: 'max_connections', value: '200' }, { name: 'max_wal_senders', value: '30' }], settings), []);
  assert.deepEqual(leaderFirstChanges([{ name: 'max_wal_senders', value: '20' }], settings), [], 'the same value');
  assert.deepEqual(leaderFirstChanges([{ name: 'max_connections', value: null }], [{ ...ROWS.max_connections, setting: '200' }]), ['max_connections'], 'unset: back to 100');
  assert.deepEqual(leaderFirstChanges([{ name: 'work_mem', value: '1MB' }, { name: 'shared_buffers', value: '64MB' }], settings), [], 'only those a replica must match');
});

test('values the server spells its own way: applied once a member shows the server\'s spelling', () => {
  const datestyle = row('DateStyle', { setting: 'ISO, MDY', vartype: 'string', source: 'configuration file', sourcefile: '/var/lib/dbaas/pgdata/postgresql.conf' });
  const ts = row('default_text_search_config', { setting: 'pg_catalog.english', vartype: 'string', source: 'configuration file' });
  assert.equal(memberState(datestyle, { name: 'datestyle', value: 'iso' }, false), 'waiting', 'the text alone does not match');
  assert.equal(memberState(datestyle, { name: 'datestyle', value: 'iso' }, false, 'ISO, MDY'), 'applied');
  assert.equal(memberState({ ...datestyle, setting: 'Postgres, DMY' }, { name: 'datestyle', value: 'iso' }, false, 'ISO, MDY'), 'waiting', 'still the old value');
  assert.equal(memberState(ts, { name: 'default_text_search_config', value: 'english' }, false, 'pg_catalog.english'), 'applied');
  assert.ok(spelledByServer(datestyle) && spelledByServer({ vartype: 'string', context: 'superuser' }));
  assert.ok(!spelledByServer({ vartype: 'string', context: 'sighup' }) && !spelledByServer(ROWS.work_mem), 'a session cannot set those (or they are numbers)');
});
