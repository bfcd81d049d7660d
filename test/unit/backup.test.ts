/** pgbackrest.conf rendering, archive settings and the summary of `pgbackrest info --output=json`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newBackups, parseBackupInfo, retentionProblem } from '../../common/backup';
import { REPO_PATH, archiveCommand, renderPgbackrestConfig, renderSourceConfig, standbyBackupOptions, type RepositoryConfig } from '../../common/render/pgbackrest';
import { SOURCE_REPO_PATH } from '../../common/restore';
import type { S3Location } from '../../common/repository';
import { archiveParameters } from '../../common/render/patroni';
import { PGBACKREST_INFO_JSON as INFO } from '../helpers/fake-backup';


const VOLUME: RepositoryConfig = { type: 'volume', path: REPO_PATH };
const SOURCE: RepositoryConfig = { type: 'volume', path: SOURCE_REPO_PATH };
const S3: S3Location = { type: 's3', bucket: 'backups', path: '/dbaas', endpoint: 's3.example.net', port: 9000, region: 'eu-west-1', uriStyle: 'path', privateCa: true };

test('pgbackrest.conf of an S3 repository: bucket, endpoint, port, region, path style, keys and the private CA in [global], no volume path', () => {
  const conf = renderPgbackrestConfig({ stanza: 'orders', retention: { full: 2 }, cipherPass: 'p4ss', repository: { type: 's3', location: S3, accessKey: 'AK', secretKey: 'SK', caFile: '/etc/pgbackrest/s3-ca.crt' } });
  const global = conf.split('[orders]')[0];
  for (const line of ['repo1-type=s3', 'repo1-path=/dbaas', 'repo1-s3-bucket=backups', 'repo1-s3-endpoint=s3.example.net', 'repo1-storage-port=9000',
    'repo1-s3-region=eu-west-1', 'repo1-s3-uri-style=path', 'repo1-s3-key=AK', 'repo1-s3-key-secret=SK', 'repo1-storage-ca-file=/etc/pgbackrest/s3-ca.crt', 'repo1-cipher-pass=p4ss']) {
    assert.ok(global.split('\n').includes(line), line);
  }
  assert.doesNotMatch(conf, /pgbackrest-source|\/var\/lib\/pgbackrest$/m);
  const publicCa = renderSourceConfig({ type: 's3', location: { ...S3, privateCa: false }, accessKey: 'AK', secretKey: 'SK' }, undefined);
  assert.doesNotMatch(publicCa, /ca-file/, 'a public CA: the system store');
});

test('pgbackrest.conf: repository on the shared volume, retention, the stanza on the local data dir', () => {
  const conf = renderPgbackrestConfig({ repository: VOLUME, stanza: 'orders', retention: { full: 3, diff: 6 } });
  assert.match(conf, /^repo1-path=\/var\/lib\/pgbackrest$/m);
  assert.match(conf, /^repo1-retention-full=3$/m);
  assert.match(conf, /^repo1-retention-diff=6$/m);
  assert.match(conf, /^\[orders\]$/m);
  assert.match(conf, /^pg1-path=\/var\/lib\/dbaas\/pgdata$/m);
  assert.match(conf, /^start-fast=y$/m);
  assert.doesNotMatch(renderPgbackrestConfig({ repository: VOLUME, stanza: 'x', retention: { full: 2 } }), /retention-diff/);
});

test('pgbackrest.conf: an encrypted repository gets aes-256-cbc and its passphrase; one from before encryption neither', () => {
  const conf = renderPgbackrestConfig({ repository: VOLUME, stanza: 'orders', retention: { full: 2 }, cipherPass: 'p4ss' });
  assert.match(conf, /^\[global\]\nrepo1-path=\/var\/lib\/pgbackrest\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=p4ss$/m, 'repository options in [global]');
  assert.doesNotMatch(renderPgbackrestConfig({ repository: VOLUME, stanza: 'orders', retention: { full: 2 } }), /cipher/);
});

test('the config a one-shot reader of a mounted repository gets: its path, and the cipher only when it has a passphrase', () => {
  assert.equal(renderSourceConfig(SOURCE, 'p4ss').split('\n').slice(1).join('\n'),
    '[global]\nrepo1-path=/var/lib/pgbackrest-source\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=p4ss\n');
  assert.doesNotMatch(renderSourceConfig(SOURCE, undefined), /cipher/);
  assert.match(renderSourceConfig(SOURCE, undefined), /^repo1-path=\/var\/lib\/pgbackrest-source$/m);
});

test('archiving pushes into the cluster\'s own stanza', () => {
  assert.equal(archiveCommand('orders'), 'pgbackrest --stanza=orders archive-push %p');
  assert.deepEqual(archiveParameters('orders'), { archive_mode: 'on', archive_command: 'pgbackrest --stanza=orders archive-push %p', archive_timeout: '60s' });
});

test('info summary: label, type, times, sizes, WAL range; new backups by label', () => {
  const s = parseBackupInfo(INFO, 'demo');
  assert.equal(s.status, 'ok');
  assert.equal(s.backupRunning, false);
  assert.equal(s.archiveMax, '00000001000000000000000A');
  assert.equal(s.cipher, 'none');
  assert.equal(parseBackupInfo(INFO.replace(/"cipher":"none"/g, '"cipher":"aes-256-cbc"'), 'demo').cipher, 'aes-256-cbc');
  assert.deepEqual(s.backups[0], {
    label: '20261123-113627F', type: 'full', startedAt: '2026-11-23T11:36:27.000Z', stoppedAt: '2026-11-23T11:36:33.000Z', durationS: 6,
    databaseBytes: 23176621, repositoryBytes: 3076939, walStart: '00000001000000000000000A', walStop: '00000001000000000000000A',
    lsnStart: '0/A000028', lsnStop: '0/A000138', prior: null, error: false, pgVersion: 15,
  });
  assert.deepEqual(newBackups(['20261123-113627F'], s.backups), []);
  assert.equal(newBackups([], s.backups).length, 1);
  assert.equal(parseBackupInfo(INFO, 'other').statusCode, -1);
});

test('retention must be a positive integer', () => {
  assert.equal(retentionProblem({ full: 2, diff: 4 }), undefined);
  assert.match(retentionProblem({ full: 0 }) ?? '', /--retention-full must be an integer from 1/);
  assert.match(retentionProblem({ diff: 1.5 }) ?? '', /--retention-diff/);
});

test('info summary of a running backup: its progress, and the bytes copied that the backup\'s stall watch reads', () => {
  const running = JSON.parse(INFO) as [{ status: { lock: unknown } }];
  running[0].status.lock = { backup: { held: true, size: 1000, 'size-cplt': 451 } };
  const s = parseBackupInfo(JSON.stringify(running), 'demo');
  assert.equal(s.backupRunning, true);
  assert.equal(s.progress, '45.1% complete');
  assert.equal(s.bytesDone, 451);
  const idle = parseBackupInfo(INFO, 'demo');
  assert.equal(idle.bytesDone, undefined);
});

test('a member that serves backups: its TLS server on every address, the cluster\'s backup peer authorized for the stanza; the leader\'s options for reading from a standby', () => {
  const conf = renderPgbackrestConfig({ repository: VOLUME, stanza: 'orders', retention: { full: 2 }, tlsServer: true });
  for (const line of ['tls-server-address=*', 'tls-server-port=8432', 'tls-server-auth=dbaas-orders-backup-peer=orders', 'tls-server-cert-file=/etc/pgbackrest/tls.crt']) {
    assert.ok(conf.split('[orders]')[0].split('\n').includes(line), line);
  }
  assert.doesNotMatch(renderPgbackrestConfig({ repository: VOLUME, stanza: 'orders', retention: { full: 2 } }), /tls-server/);
  const o = standbyBackupOptions('dbaas-orders-pg-2');
  assert.ok(o.includes('--pg2-host=dbaas-orders-pg-2') && o.includes('--pg2-host-type=tls') && o.includes('--backup-standby'));
});
