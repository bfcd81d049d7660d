/** Members as the inventory reads them from Docker's container list: kind, state, address, ports, repository, order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backupsState, byMemberName, matches, memberFromRow, type ContainerRow } from '../../common/inventory';

const SETTINGS = { profile: 'default', sync: 'off', syncStrict: false, etcdMembers: 1, backups: true };

// Shaped like `GET /containers/json?all=1` rows from Docker 20.10 (fields the inventory does not read left out).
const row = (o: Partial<ContainerRow> & { labels: Record<string, string> }): ContainerRow => ({
  Names: [`/dbaas-orders-${o.labels['dbaas.member'] ?? 'x'}`],
  Labels: o.labels,
  State: o.State ?? 'running',
  Created: 1764547200,
  Mounts: o.Mounts ?? [],
  Ports: o.Ports ?? [],
  NetworkSettings: o.NetworkSettings ?? { Networks: { 'dbaas-orders': { IPAddress: '172.20.0.5' } } },
});

const pg = (member: string, extra: Record<string, string> = {}, o: Partial<ContainerRow> = {}): ContainerRow =>
  row({ ...o, labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'postgres', 'dbaas.member': member, 'dbaas.spec': JSON.stringify(SETTINGS), ...extra } });

test('a running Postgres member: host, container, address on the cluster network, settings it was made with', () => {
  const m = memberFromRow(pg('pg-0', { 'dbaas.port.direct': '28440', 'dbaas.nofailover': 'false' }), 'local', 'dbaas-orders');
  assert.ok(m);
  assert.equal(m.kind, 'postgres');
  assert.equal(m.host, 'local');
  assert.equal(m.container, 'dbaas-orders-pg-0');
  assert.equal(m.ip, '172.20.0.5');
  assert.equal(m.state, 'running');
  assert.equal(m.portLabels.direct, 28440);
  assert.equal(m.nofailover, false);
  assert.deepEqual(m.createdWith, SETTINGS);
  assert.equal(m.createdAt, '2025-12-01T00:00:00.000Z');
});

test('a stopped member has no address (the one Docker keeps is stale)', () => {
  const m = memberFromRow(pg('pg-1', {}, { State: 'exited' }), 'local', 'dbaas-orders');
  assert.equal(m?.state, 'exited');
  assert.equal(m?.ip, null);
  assert.equal(matches(m!, { running: true }), false);
  assert.equal(matches(m!, { kind: 'postgres' }), true);
});

test('published ports by container port; a read-only member; its pgBackRest server', () => {
  const m = memberFromRow(
    pg('pg-2', { 'dbaas.nofailover': 'true', 'dbaas.backup-server': '8432' }, { Ports: [{ IP: '127.0.0.1', PrivatePort: 5432, PublicPort: 28441 }, { PrivatePort: 8008 }] }),
    'local',
    'dbaas-orders',
  );
  assert.deepEqual(m?.published, { 5432: { ip: '127.0.0.1', port: 28441 } });
  assert.equal(m?.nofailover, true);
  assert.equal(m?.backupServerPort, 8432);
});

test('how a member reaches the repository: its volume mounted, S3, the repository host, or not at all', () => {
  const vol = memberFromRow(pg('pg-0', {}, { Mounts: [{ Name: 'dbaas-orders-backup-repo' }] }), 'local', 'dbaas-orders')!;
  const s3 = memberFromRow(pg('pg-1', { 'dbaas.repository': 's3' }), 'local', 'dbaas-orders')!;
  const host = memberFromRow(pg('pg-2', { 'dbaas.repository': 'host' }), 'local', 'dbaas-orders')!;
  const none = memberFromRow(pg('pg-3'), 'local', 'dbaas-orders')!;
  assert.deepEqual([vol, s3, host, none].map((m) => m.repository), ['volume', 's3', 'host', null]);
  assert.equal(backupsState([vol, s3, host]), 'on');
  assert.equal(backupsState([vol, none]), 'partial');
  assert.equal(backupsState([none]), 'off');
});

test('haproxy keeps its port labels; containers that are no member (restore helper, test S3 server) are not members', () => {
  const hap = memberFromRow(row({ labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 'haproxy', 'dbaas.member': 'haproxy', 'dbaas.port.base': '28432' } }), 'local', 'dbaas-orders');
  assert.equal(hap?.kind, 'haproxy');
  assert.equal(hap?.portLabels.base, 28432);
  assert.equal(hap?.createdWith, null);
  assert.equal(memberFromRow(row({ labels: { 'dbaas.cluster': 'orders', 'dbaas.role': 's3' } }), 'local', 'dbaas-orders'), undefined);
  assert.equal(memberFromRow(row({ labels: { 'dbaas.role': 'repository-host' } }), 'local', 'dbaas-orders'), undefined);
});

test('member order is numeric: pg-2 before pg-10', () => {
  assert.deepEqual(['pg-10', 'pg-2', 'pg-0', 'pg-1'].sort(byMemberName), ['pg-0', 'pg-1', 'pg-2', 'pg-10']);
});
