import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolerAuthSql, renderPgbouncerIni, renderPgbouncerUserlist } from '../../common/render/pgbouncer';

test('pgbouncer.ini: transaction pooling to the cluster HAProxy, SCRAM, passwords looked up by auth_query', () => {
  const ini = renderPgbouncerIni({ cluster: 'orders', backendPort: 5000, maxClientConn: 2000, defaultPoolSize: 40, reservePoolSize: 5, tls: false });
  assert.match(ini, /^\* = host=dbaas-orders-haproxy port=5000$/m);
  assert.match(ini, /^pool_mode = transaction$/m);
  assert.match(ini, /^auth_type = scram-sha-256$/m);
  assert.match(ini, /^auth_user = dbaas_pgbouncer$/m);
  assert.match(ini, /^auth_query = SELECT usename, passwd FROM dbaas\.pgbouncer_lookup\(\$1\)$/m);
  assert.match(ini, /^max_client_conn = 2000$/m);
  assert.match(ini, /^default_pool_size = 40$/m);
  assert.match(ini, /^reserve_pool_size = 5$/m);
});

test('the auth file holds only the auth user, and the lookup is SECURITY DEFINER, not callable by PUBLIC', () => {
  assert.equal(renderPgbouncerUserlist('pw'), '"dbaas_pgbouncer" "pw"\n');
  const sql = poolerAuthSql().join('\n');
  assert.match(sql, /SECURITY DEFINER SET search_path = pg_catalog/);
  assert.match(sql, /FROM pg_authid WHERE rolname = p_user AND rolcanlogin/);
  assert.match(sql, /REVOKE ALL ON FUNCTION dbaas\.pgbouncer_lookup\(text\) FROM PUBLIC/);
  assert.match(sql, /GRANT EXECUTE ON FUNCTION dbaas\.pgbouncer_lookup\(text\) TO dbaas_pgbouncer/);
});

test('pgbouncer.ini with TLS: clients must use TLS, server connections verify the member by the HAProxy name', () => {
  const ini = renderPgbouncerIni({ cluster: 'orders', backendPort: 5000, maxClientConn: 2000, defaultPoolSize: 40, reservePoolSize: 5, tls: true });
  assert.match(ini, /^client_tls_sslmode = require$/m);
  assert.match(ini, /^client_tls_key_file = \/etc\/pgbouncer\/server\.key$/m);
  assert.match(ini, /^server_tls_sslmode = verify-full$/m);
  assert.match(ini, /^server_tls_ca_file = \/etc\/pgbouncer\/ca\.crt$/m);
  assert.doesNotMatch(renderPgbouncerIni({ cluster: 'orders', backendPort: 5000, maxClientConn: 2000, defaultPoolSize: 40, reservePoolSize: 5, tls: false }), /tls/);
});
