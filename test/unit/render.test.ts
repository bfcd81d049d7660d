import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { PROFILES } from '../../common/spec';
import { renderPatroniConfig, DATA_DIR, type ClusterPasswords } from '../../common/render/patroni';
import { renderHaproxyConfig } from '../../common/render/haproxy';
import { renderEtcdArgs } from '../../common/render/etcd';
import { upServers } from '../../activities/haproxy';
import { prefixRangeEnd } from '../../activities/etcd-gateway';
import { dcsPrefix } from '../../common/dcs-keys';

const passwords = { superuser: 'su-secret', replication: 'repl-secret', rewind: 'rew-secret', pooler: 'pool-secret' };

function patroni(overrides: { sync?: boolean; syncStrict?: boolean; nofailover?: boolean; etcd?: string[]; archive?: boolean; passwords?: ClusterPasswords; tls?: boolean; generation?: number; archiveHeld?: boolean } = {}): Record<string, any> {
  return parse(
    renderPatroniConfig({
      cluster: 'orders',
      member: 'pg-1',
      etcdMembers: overrides.etcd ?? ['etcd-0'],
      profile: PROFILES.fast,
      sync: overrides.sync ?? false,
      syncStrict: overrides.syncStrict,
      tags: { nofailover: overrides.nofailover ?? false, noloadbalance: false },
      passwords: overrides.passwords ?? passwords,
      archive: overrides.archive ?? true,
      tls: overrides.tls ?? true,
      ...(overrides.generation !== undefined ? { generation: overrides.generation } : {}),
      ...(overrides.archiveHeld ? { archiveHeld: true } : {}),
    }),
  );
}

test('patroni.yml: identity, etcd3 (not etcd v2), REST and PostgreSQL addresses by container name', () => {
  const c = patroni({ etcd: ['etcd-0', 'etcd-1', 'etcd-2'] });
  assert.equal(c.scope, 'orders');
  assert.equal(c.name, 'pg-1');
  assert.equal(c.etcd, undefined);
  assert.deepEqual(c.etcd3.hosts, ['dbaas-orders-etcd-0:2379', 'dbaas-orders-etcd-1:2379', 'dbaas-orders-etcd-2:2379']);
  assert.equal(c.restapi.connect_address, 'dbaas-orders-pg-1:8008');
  assert.equal(c.postgresql.connect_address, 'dbaas-orders-pg-1:5432');
});

test('patroni.yml: data dir below the volume mount, owned socket dir, scram-sha-256 everywhere', () => {
  const c = patroni();
  assert.equal(c.postgresql.data_dir, DATA_DIR);
  assert.ok(DATA_DIR.startsWith('/var/lib/dbaas/'), 'data dir must be a subdirectory of the mounted volume');
  assert.equal(c.postgresql.parameters.unix_socket_directories, '/var/run/postgresql');
  assert.equal(c.bootstrap.dcs.postgresql.parameters.password_encryption, 'scram-sha-256');
  for (const line of c.postgresql.pg_hba as string[]) {
    if (line.startsWith('host') && !line.startsWith('hostnossl')) assert.match(line, /scram-sha-256$/, line);
    if (line.startsWith('hostnossl')) assert.match(line, /reject$/, line);
    assert.doesNotMatch(line, /\b(trust|md5|password)\b/, line);
  }
  assert.equal(c.postgresql.authentication.superuser.password, 'su-secret');
  assert.equal(c.postgresql.authentication.replication.username, 'replicator');
  assert.deepEqual(c.postgresql.basebackup, [{ checkpoint: 'fast' }]);
});

test('patroni.yml: HA timing from the profile, sync mode and tags from the spec', () => {
  const c = patroni({ sync: true, nofailover: true });
  assert.equal(c.bootstrap.dcs.ttl, 10);
  assert.equal(c.bootstrap.dcs.loop_wait, 2);
  assert.equal(c.bootstrap.dcs.retry_timeout, 4);
  assert.equal(c.bootstrap.dcs.synchronous_mode, true);
  assert.equal(c.tags.nofailover, true);
  assert.equal(patroni().bootstrap.dcs.synchronous_mode, false);
});

test('patroni.yml: synchronous_mode_strict only with sync --sync-strict', () => {
  assert.equal(patroni().bootstrap.dcs.synchronous_mode_strict, false);
  assert.equal(patroni({ sync: true }).bootstrap.dcs.synchronous_mode_strict, false);
  const strict = patroni({ sync: true, syncStrict: true }).bootstrap.dcs;
  assert.equal(strict.synchronous_mode, true);
  assert.equal(strict.synchronous_mode_strict, true);
  // Strict without sync would block nothing in Patroni but say something false: never rendered.
  assert.equal(patroni({ sync: false, syncStrict: true }).bootstrap.dcs.synchronous_mode_strict, false);
});

test('haproxy.cfg: rw checks /primary, ro checks /replica round robin, every member in both', () => {
  const cfg = renderHaproxyConfig({ cluster: 'orders', members: ['pg-0', 'pg-1', 'pg-2'], checks: PROFILES.default.haproxy });
  const section = (name: string): string => cfg.split(/\n(?=\S)/).find((s) => s.startsWith(name)) ?? '';
  const rw = section('listen rw');
  const ro = section('listen ro');
  assert.match(rw, /bind \*:5000/);
  assert.match(rw, /balance first/);
  assert.match(cfg, /server-state-file \/run\/haproxy\/server-state/);
  assert.match(cfg, /load-server-state-from-file global/);
  assert.match(rw, /option httpchk OPTIONS \/primary/);
  assert.match(rw, /http-check expect status 200/);
  assert.match(rw, /on-marked-down shutdown-sessions/);
  assert.match(ro, /bind \*:5001/);
  assert.match(ro, /balance roundrobin/);
  assert.match(ro, /option httpchk OPTIONS \/replica/);
  for (const m of ['pg-0', 'pg-1', 'pg-2']) {
    const server = new RegExp(`server ${m} dbaas-orders-${m}:5432 .*check port 8008`);
    assert.match(rw, server);
    assert.match(ro, server);
  }
  assert.match(cfg, /inter 3000ms fastinter 500ms downinter 1000ms fall 3 rise 2/);
  assert.match(cfg, /prometheus-exporter if \{ path \/metrics \}/);
  assert.match(cfg, /bind \*:7000/);
});

test('haproxy.cfg: the fast profile checks more often', () => {
  const cfg = renderHaproxyConfig({ cluster: 'x', members: ['pg-0'], checks: PROFILES.fast.haproxy });
  assert.match(cfg, /inter 1000ms fastinter 250ms downinter 500ms fall 2 rise 1/);
});

test('etcd args: one initial cluster listing every member by container name', () => {
  const args = renderEtcdArgs({ cluster: 'orders', member: 'etcd-1', members: ['etcd-0', 'etcd-1', 'etcd-2'] });
  assert.ok(args.includes('--name=etcd-1'));
  assert.ok(args.includes('--initial-cluster=etcd-0=http://dbaas-orders-etcd-0:2380,etcd-1=http://dbaas-orders-etcd-1:2380,etcd-2=http://dbaas-orders-etcd-2:2380'));
  assert.ok(args.includes('--advertise-client-urls=http://dbaas-orders-etcd-1:2379'));
  assert.ok(args.includes('--initial-cluster-token=dbaas-orders'));
  assert.ok(args.includes('--initial-cluster-state=new'));
});

test('etcd args: a member that joins a running cluster (a move off a host) says so', () => {
  const args = renderEtcdArgs({ cluster: 'orders', member: 'etcd-3', members: ['etcd-0', 'etcd-2', 'etcd-3'], joinExisting: true });
  assert.ok(args.includes('--initial-cluster-state=existing'));
  assert.ok(args.includes('--initial-cluster=etcd-0=http://dbaas-orders-etcd-0:2380,etcd-2=http://dbaas-orders-etcd-2:2380,etcd-3=http://dbaas-orders-etcd-3:2380'));
});

test('HAProxy stats CSV: UP servers per proxy, frontends and backends ignored', () => {
  const csv = [
    '# pxname,svname,qcur,status,weight',
    'rw,FRONTEND,,OPEN,',
    'rw,pg-0,0,UP,1',
    'rw,pg-1,0,DOWN,1',
    'rw,BACKEND,0,UP,1',
    'ro,pg-1,0,UP 1/2,1',
    'ro,pg-2,0,UP,1',
    'ro,pg-0,0,DOWN,1',
  ].join('\n');
  const up = upServers(csv);
  assert.deepEqual(up.get('rw'), ['pg-0']);
  assert.deepEqual(up.get('ro'), ['pg-1', 'pg-2']);
});

test('patroni.yml: WAL archiving into the cluster stanza, none for a cluster made with --no-backups', () => {
  const on = patroni().bootstrap.dcs.postgresql.parameters;
  assert.equal(on.archive_mode, 'on');
  assert.equal(on.archive_command, 'pgbackrest --stanza=orders archive-push %p');
  const off = patroni({ archive: false }).bootstrap.dcs.postgresql.parameters;
  assert.equal(off.archive_mode, undefined);
  assert.equal(off.archive_command, undefined);
  assert.equal(off.wal_level, 'logical', 'logical WAL either way: a blue/green upgrade needs it');
  // A blue/green upgrade's next generation: archive_mode on (a restart to change), its WAL discarded until the cutover.
  const held = patroni({ archiveHeld: true }).bootstrap.dcs.postgresql.parameters;
  assert.deepEqual([held.archive_mode, held.archive_command, held.archive_timeout], ['on', '/bin/true', '60s']);
});

test('patroni.yml: a later generation is a Patroni cluster of its own (scope NAME-g<n>), the first keeps the cluster name', () => {
  assert.equal(patroni().scope, 'orders');
  assert.equal(patroni({ generation: 1 }).scope, 'orders');
  assert.equal(patroni({ generation: 2 }).scope, 'orders-g2');
});

test('patroni.yml: REST API authentication for unsafe requests and the prefix-limited etcd user, from the secrets', () => {
  const c = patroni({ passwords: { ...passwords, patroniApi: 'api-secret', etcdRoot: 'root-secret', etcdPatroni: 'etcd-secret' } });
  assert.deepEqual(c.restapi.authentication, { username: 'dbaas', password: 'api-secret' });
  assert.equal(c.restapi.listen, '0.0.0.0:8008', 'HAProxy still checks the same port');
  assert.deepEqual(c.etcd3, { hosts: ['dbaas-orders-etcd-0:2379'], username: 'patroni', password: 'etcd-secret' });
  assert.ok(!JSON.stringify(c).includes('root-secret'), "Patroni never gets etcd's root password");
  // PostgreSQL's own users stay where they were.
  assert.equal(c.postgresql.authentication.superuser.password, 'su-secret');
});

test('patroni.yml: a cluster made before REST API and etcd authentication (no such passwords) renders as before', () => {
  const c = patroni();
  assert.equal(c.restapi.authentication, undefined);
  assert.deepEqual(c.etcd3, { hosts: ['dbaas-orders-etcd-0:2379'] });
});

test('etcd key prefix of a cluster: its Patroni keys, not those of a cluster whose name extends it', () => {
  const prefix = dcsPrefix('orders');
  assert.equal(prefix, '/dbaas/orders/');
  assert.equal(prefixRangeEnd(prefix), '/dbaas/orders0');
  const inRange = (k: string): boolean => k >= prefix && k < prefixRangeEnd(prefix);
  assert.ok(inRange('/dbaas/orders/leader'));
  assert.ok(!inRange('/dbaas/orders2/leader'));
  assert.ok(!inRange('/dbaas/order'));
});

test('patroni.yml with TLS: ssl on, only hostssl for TCP (replication too), members verify each other by name', () => {
  const y = patroni();
  assert.equal(y.postgresql.parameters.ssl, 'on');
  assert.equal(y.postgresql.parameters.ssl_cert_file, '/etc/patroni/server.crt');
  assert.equal(y.postgresql.use_unix_socket, true);
  const hba: string[] = y.postgresql.pg_hba;
  const firstTcp = hba.findIndex((l) => !l.startsWith('local'));
  assert.deepEqual(hba.slice(firstTcp, firstTcp + 2), ['hostnossl all all 0.0.0.0/0 reject', 'hostnossl replication all 0.0.0.0/0 reject']);
  assert.ok(hba.every((l) => !/^host\s/.test(l)), 'no plain host rule');
  for (const a of ['replication', 'rewind']) {
    assert.equal(y.postgresql.authentication[a].sslmode, 'verify-full');
    assert.equal(y.postgresql.authentication[a].sslrootcert, '/etc/patroni/ca.crt');
  }
});

test('patroni.yml of a cluster made before TLS: no ssl, host rules as before', () => {
  const y = patroni({ tls: false });
  assert.equal(y.postgresql.parameters.ssl, undefined);
  assert.equal(y.postgresql.use_unix_socket, undefined);
  assert.ok(y.postgresql.pg_hba.includes('host all all 0.0.0.0/0 scram-sha-256'));
  assert.equal(y.postgresql.authentication.replication.sslmode, undefined);
});
