/** HAProxy runtime state parsing and which members are rendered in maintenance. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { membersOutOfService, parseServersState } from '../../activities/haproxy';
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
