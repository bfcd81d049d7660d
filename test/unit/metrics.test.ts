import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRICS_FILES, monitorRoleSql, probeConfig, renderPgpass, renderProbeConfig } from '../../common/render/metrics';
import { renderPgbouncerIni, renderPgbouncerUserlist } from '../../common/render/pgbouncer';
import { backupFacts, renderFacts, renderGauges, scheduleInterval, type ClusterFacts } from '../../common/facts';
import { parseListenAddress } from '../../common/listen-address';
import type { BackupSummary, StanzaSummary } from '../../common/backup';
import { cachedFacts, FACTS_CACHE_MS } from '../../worker/facts';

test('probe.json: members by container name, verify-full against the CA file, the password only by file name', () => {
  const c = probeConfig({ cluster: 'orders', tls: true });
  assert.equal(c.hostPrefix, 'dbaas-orders-');
  assert.equal(c.user, 'dbaas_monitor');
  assert.deepEqual([c.postgresPort, c.pgbouncerPort, c.listen], [5432, 6432, 9187]);
  assert.deepEqual([c.sslmode, c.sslrootcert], ['verify-full', METRICS_FILES.ca]);
  assert.deepEqual([c.passwordFile, c.pgpassFile], [METRICS_FILES.password, METRICS_FILES.pgpass]);
  assert.deepEqual(JSON.parse(renderProbeConfig({ cluster: 'orders', tls: true })), c);
  const plain = probeConfig({ cluster: 'orders', tls: false });
  assert.deepEqual([plain.sslmode, plain.sslrootcert], ['disable', null]);
});

test('the PgBouncer exporter\'s password file: the console database only, : and \\ escaped', () => {
  assert.equal(renderPgpass('abc-_9'), '*:*:pgbouncer:dbaas_monitor:abc-_9\n');
  assert.equal(renderPgpass('a:b\\c'), '*:*:pgbouncer:dbaas_monitor:a\\:b\\\\c\n');
});

test('the monitor role: login, pg_monitor, every other membership and attribute taken back', () => {
  const sql = monitorRoleSql().join('\n');
  assert.match(sql, /CREATE ROLE dbaas_monitor LOGIN/);
  assert.match(sql, /ALTER ROLE dbaas_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS/);
  assert.match(sql, /GRANT pg_monitor TO dbaas_monitor/);
  assert.match(sql, /g\.rolname <> 'pg_monitor'[\s\S]*REVOKE %I FROM dbaas_monitor/);
  assert.doesNotMatch(sql, /PASSWORD/);
});

test('the poolers: the monitor role is a stats user, logging in with its SCRAM verifier from the auth file', () => {
  const ini = renderPgbouncerIni({ cluster: 'orders', backendPort: 5000, maxClientConn: 2000, defaultPoolSize: 40, reservePoolSize: 5, tls: true });
  assert.match(ini, /^stats_users = dbaas_monitor$/m);
  assert.match(ini, /^admin_users =$/m);
  const verifier = 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';
  assert.equal(renderPgbouncerUserlist('pw', verifier), `"dbaas_pgbouncer" "pw"\n"dbaas_monitor" "${verifier}"\n`);
  assert.equal(renderPgbouncerUserlist('pw'), '"dbaas_pgbouncer" "pw"\n');
});

const backup = (label: string, type: BackupSummary['type'], stoppedAt: string, repositoryBytes: number, error = false): BackupSummary => ({
  label, type, startedAt: stoppedAt, stoppedAt, durationS: 1, databaseBytes: 10 * repositoryBytes, repositoryBytes,
  walStart: '', walStop: '', lsnStart: '', lsnStop: '', prior: null, error,
});

test('backup facts: the newest good backup of each type, and the newest one\'s size', () => {
  const s = {
    backups: [
      backup('F1', 'full', '2024-05-01T03:00:00.000Z', 100),
      backup('D1', 'diff', '2024-05-02T03:00:00.000Z', 20),
      backup('F2', 'full', '2024-05-03T03:00:00.000Z', 110),
      backup('I1', 'incr', '2024-05-04T03:00:00.000Z', 5, true),
    ],
  } as StanzaSummary;
  assert.deepEqual(backupFacts(s), {
    lastBackups: [
      { type: 'full', completedAt: Date.parse('2024-05-03T03:00:00Z') / 1000 },
      { type: 'diff', completedAt: Date.parse('2024-05-02T03:00:00Z') / 1000 },
    ],
    lastBackupBytes: 110,
  });
  assert.deepEqual(backupFacts(undefined), { lastBackups: [] });
});

test('a schedule\'s interval: between its next two runs; none when paused', () => {
  const nextRuns = ['2024-05-01T03:00:00.000Z', '2024-05-08T03:00:00.000Z', '2024-05-15T03:00:00.000Z'];
  assert.equal(scheduleInterval({ paused: false, nextRuns }), 7 * 86400);
  assert.equal(scheduleInterval({ paused: true, nextRuns }), undefined);
  assert.equal(scheduleInterval({ paused: false, nextRuns: nextRuns.slice(0, 1) }), undefined);
});

test('the facts as Prometheus text: one family each, absent families left out', () => {
  const orders: ClusterFacts = {
    cluster: 'orders', version: 17,
    lastBackups: [{ type: 'full', completedAt: 1714705200 }],
    lastBackupBytes: 110,
    scheduleIntervals: [{ type: 'full', seconds: 604800 }],
    volumes: [{ member: 'pg-0', usedBytes: 4096, sizeBytes: 8192 }],
  };
  const bare: ClusterFacts = { cluster: 'bare', version: 15, lastBackups: [], scheduleIntervals: [], volumes: [] };
  assert.equal(renderFacts([orders, bare]), [
    '# HELP dbaas_cluster_info A cluster dbaas runs, with its PostgreSQL major version.',
    '# TYPE dbaas_cluster_info gauge',
    'dbaas_cluster_info{cluster="orders",version="17"} 1',
    'dbaas_cluster_info{cluster="bare",version="15"} 1',
    '# HELP dbaas_backup_last_completed_timestamp_seconds When the newest backup of this type that completed without error stopped (pgbackrest info).',
    '# TYPE dbaas_backup_last_completed_timestamp_seconds gauge',
    'dbaas_backup_last_completed_timestamp_seconds{cluster="orders",type="full"} 1714705200',
    '# HELP dbaas_backup_last_size_bytes Bytes the newest good backup added to the repository.',
    '# TYPE dbaas_backup_last_size_bytes gauge',
    'dbaas_backup_last_size_bytes{cluster="orders"} 110',
    '# HELP dbaas_backup_schedule_interval_seconds Seconds between the runs of the backup schedule of this type (absent without an active schedule).',
    '# TYPE dbaas_backup_schedule_interval_seconds gauge',
    'dbaas_backup_schedule_interval_seconds{cluster="orders",type="full"} 604800',
    '# HELP dbaas_volume_used_bytes Bytes used on the file system of the member\'s data volume.',
    '# TYPE dbaas_volume_used_bytes gauge',
    'dbaas_volume_used_bytes{cluster="orders",member="pg-0"} 4096',
    '# HELP dbaas_volume_size_bytes Size of the file system of the member\'s data volume.',
    '# TYPE dbaas_volume_size_bytes gauge',
    'dbaas_volume_size_bytes{cluster="orders",member="pg-0"} 8192',
    '',
  ].join('\n'));
  assert.equal(renderFacts([]), '');
});

test('label values are escaped; odd values printed as Prometheus reads them', () => {
  const text = renderGauges([{ name: 'x', help: 'h', samples: [{ labels: { v: 'a"b\\c\nd' }, value: NaN }, { labels: {}, value: Infinity }] }]);
  assert.match(text, /^x\{v="a\\"b\\\\c\\nd"\} NaN$/m);
  assert.match(text, /^x \+Inf$/m);
});

test('listen addresses from the environment: HOST:PORT, off, or a problem', () => {
  assert.deepEqual(parseListenAddress(undefined, '127.0.0.1:9465'), { host: '127.0.0.1', port: 9465 });
  assert.deepEqual(parseListenAddress('127.0.0.1:0', 'x'), { problem: '127.0.0.1:0 is not HOST:PORT' });
  assert.deepEqual(parseListenAddress('[::1]:9000', 'x'), { host: '::1', port: 9000 });
  assert.equal(parseListenAddress('off', '127.0.0.1:9465'), 'off');
  assert.ok('problem' in (parseListenAddress('9465', 'x') as object));
});

test('the facts are read once per minute; a failed read is not kept', async () => {
  let now = 0;
  let reads = 0;
  let fail = false;
  const facts = cachedFacts(async () => {
    reads++;
    if (fail) throw new Error('no engine');
    return `read ${reads}`;
  }, () => now);
  assert.equal(await facts(), 'read 1');
  now = FACTS_CACHE_MS - 1;
  assert.equal(await facts(), 'read 1');
  now = FACTS_CACHE_MS;
  fail = true;
  await assert.rejects(facts());
  fail = false;
  assert.equal(await facts(), 'read 3');
  assert.equal(reads, 3);
});
