/** HAProxy runtime state parsing, which members are rendered in maintenance, and the runtime commands of a move between members. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  commandFailures, endSessionsCommands, loadedServers, membersOutOfService, parseServersState, serveCommands, servesOnRw,
} from '../../activities/haproxy-servers';
import { renderHaproxyConfig } from '../../common/render/haproxy';
import { PROFILES } from '../../common/spec';

// `show servers state` from HAProxy 2.6.12: pg-1 rendered `disabled` (admin 5), pg-2 put in
// service by `set server … state ready` (CMAINT 4 stays), pg-0 plain.
const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 rw 1 pg-0 172.18.0.3 2 0 1 1 2 8 2 0 6 0 0 0 - 5432 - 0 8008 - - 8008
3 rw 2 pg-1 172.18.0.4 0 5 1 1 2 1 0 0 14 0 0 0 - 5432 - 0 8008 - - 8008
3 rw 3 pg-2 172.18.0.5 0 4 1 1 0 1 0 0 6 0 0 0 - 5432 - 0 8008 - - 8008
4 ro 1 pg-0 172.18.0.3 0 0 1 1 1 8 2 0 6 0 0 0 - 5432 - 0 8008 - - 8008
4 ro 2 pg-1 172.18.0.4 0 5 1 1 2 1 0 0 14 0 0 0 - 5432 - 0 8008 - - 8008
4 ro 3 pg-2 172.18.0.5 2 4 1 1 0 1 0 2 6 0 0 0 - 5432 - 0 8008 - - 8008
`;

test('show servers state: backend, server and admin state per row', () => {
  const rows = parseServersState(STATE);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[1], { backend: 'rw', server: 'pg-1', adminState: 5 });
});

test('members out of service: unknown to the running HAProxy, or in forced maintenance; not ones put in service', () => {
  const running = parseServersState(STATE);
  assert.deepEqual(membersOutOfService(['pg-0', 'pg-1', 'pg-2', 'pg-3'], running), ['pg-1', 'pg-3']);
});

test('haproxy.cfg renders members out of service as disabled in both backends', () => {
  const cfg = renderHaproxyConfig({ cluster: 'orders', members: ['pg-0', 'pg-1'], checks: PROFILES.default.haproxy, disabled: ['pg-1'] });
  assert.equal(cfg.match(/server pg-1 .* disabled$/gm)?.length, 2);
  assert.equal(cfg.match(/server pg-0 .* disabled$/gm), null);
});

/** `show servers state` rows: every member in both backends with the same admin state (5: rendered `disabled`, 4: put in service since). */
const stateOf = (members: string[], adminState: number): string => [
  '1',
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight',
  ...['rw', 'ro'].flatMap((be, b) => members.map((m, k) => `${b + 3} ${be} ${k + 1} ${m} 172.18.0.${k + 3} 0 ${adminState} 1`)),
].join('\n');

test('the servers loaded: members of rw and ro, sorted, whatever their state', () => {
  assert.equal(loadedServers(parseServersState(STATE)), 'pg-0,pg-1,pg-2');
  assert.equal(loadedServers([]), '');
});

test('a move ends the sessions of the servers left out, maintenance first, in both backends; none when all stay', () => {
  assert.deepEqual(endSessionsCommands(['pg-2', 'pg-3'], parseServersState(STATE)), [
    'set server rw/pg-0 state maint', 'shutdown sessions server rw/pg-0',
    'set server rw/pg-1 state maint', 'shutdown sessions server rw/pg-1',
    'set server ro/pg-0 state maint', 'shutdown sessions server ro/pg-0',
    'set server ro/pg-1 state maint', 'shutdown sessions server ro/pg-1',
  ]);
  assert.deepEqual(endSessionsCommands(['pg-0', 'pg-1', 'pg-2'], parseServersState(STATE)), []);
});

test('after the reload: replicas that answered UP on ro at once, the rest down for their checks, the leader out of maintenance last, UP on rw', () => {
  const members = ['pg-3', 'pg-4', 'pg-5'];
  const c = serveCommands({ members, leader: 'pg-3', running: parseServersState(stateOf(members, 5)), replicas: ['pg-4'] });
  assert.deepEqual(c.ro, ['set server ro/pg-4 state ready', 'set server ro/pg-5 state ready', 'set server ro/pg-5 health down']);
  assert.deepEqual(c.rw, ['set server rw/pg-4 state ready', 'set server rw/pg-4 health down', 'set server rw/pg-5 state ready', 'set server rw/pg-5 health down']);
  assert.deepEqual(c.leader, [
    'set server ro/pg-3 state ready', 'set server ro/pg-3 health down',
    'set server rw/pg-3 state ready', 'set server rw/pg-3 health up',
  ]);
  assert.ok(![...c.ro, ...c.rw].some((cmd) => cmd.includes('/pg-3 ')), 'the leader stays in maintenance until the last line');
});

test('a retried move leaves servers already in service alone and ends the same way', () => {
  const members = ['pg-3', 'pg-4'];
  const c = serveCommands({ members, leader: 'pg-3', running: parseServersState(stateOf(members, 4)), replicas: ['pg-4'] });
  assert.deepEqual([c.ro, c.rw], [[], []]);
  assert.deepEqual(c.leader, ['set server rw/pg-3 state ready', 'set server rw/pg-3 health up']);
});

test('a put-back without a reload: the old servers the failed move put in maintenance come back', () => {
  // The move put pg-0 and pg-1 in forced maintenance (admin 1), then failed before its reload.
  const members = ['pg-0', 'pg-1'];
  const c = serveCommands({ members, leader: 'pg-0', running: parseServersState(stateOf(members, 1)), replicas: ['pg-1'] });
  assert.deepEqual(c.ro, ['set server ro/pg-1 state ready']);
  assert.deepEqual(c.rw, ['set server rw/pg-1 state ready', 'set server rw/pg-1 health down']);
  assert.deepEqual(c.leader, ['set server ro/pg-0 state ready', 'set server ro/pg-0 health down', 'set server rw/pg-0 state ready', 'set server rw/pg-0 health up']);
});

test('runtime answers: empty lines end each command\'s output; any text is a failure', () => {
  assert.deepEqual(commandFailures(''), []);
  assert.deepEqual(commandFailures('\n\n\n'), []);
  assert.deepEqual(commandFailures('\nNo such server.\n\n'), ['No such server.']);
});

test('servesOnRw: a member on rw out of forced maintenance may have taken writes; one still disabled, only on ro, or unknown has not', () => {
  const state = (rows: [string, string, number][]): ReturnType<typeof parseServersState> =>
    parseServersState(['1', '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state', ...rows.map(([b, s, a], i) => `${i} ${b} ${i} ${s} 10.0.0.${i} 2 ${a}`)].join('\n'));
  assert.equal(servesOnRw('pg-3', state([['rw', 'pg-3', 2], ['ro', 'pg-3', 2]])), true, 'CMAINT alone: in service (ready after a disabled start)');
  assert.equal(servesOnRw('pg-3', state([['rw', 'pg-3', 0]])), true);
  assert.equal(servesOnRw('pg-3', state([['rw', 'pg-3', 3], ['ro', 'pg-3', 2]])), false, 'still in forced maintenance on rw');
  assert.equal(servesOnRw('pg-3', state([['ro', 'pg-3', 0]])), false);
  assert.equal(servesOnRw('pg-3', state([['rw', 'pg-0', 0]])), false);
});
