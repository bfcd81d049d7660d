import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeRepository, parseBackupTo, parseS3Endpoint, s3LocationProblem, repositoryRequestProblem, type S3Location } from '../../common/repository';
import { validateSpec } from '../../common/spec';
import { resolvePaths } from '../../common/paths';
import { repositoryRequestFrom, s3CredentialsFrom, s3LocationFrom } from '../../client/s3-options';
import { UsageError } from '../../client/errors';

const problem = (r: { ok: unknown } | { problem: string }): string | undefined => ('problem' in r ? r.problem : undefined);

test('--backup-to: bucket and prefix (default /dbaas); malformed, bad buckets and odd prefixes refused in one line', () => {
  assert.deepEqual(parseBackupTo('s3://backups/clusters/prod'), { ok: { bucket: 'backups', path: '/clusters/prod' } });
  assert.deepEqual(parseBackupTo('s3://backups'), { ok: { bucket: 'backups', path: '/dbaas' } });
  assert.deepEqual(parseBackupTo('s3://backups/a//b/'), { ok: { bucket: 'backups', path: '/a/b' } });
  for (const bad of ['s3://', 'backups/x', 'https://backups', 's3://Backups', 's3://ab', 's3://a..b', 's3://b/x/../y', 's3://b/x y', 's3://b/$HOME']) {
    assert.match(problem(parseBackupTo(bad)) ?? '', /--backup-to/, bad);
  }
});

test('--s3-endpoint: https host names only, port default 443; AWS for the region when absent', () => {
  assert.deepEqual(parseS3Endpoint('https://minio.internal:9000', 'us-east-1'), { ok: { endpoint: 'minio.internal', port: 9000 } });
  assert.deepEqual(parseS3Endpoint('https://s3.example.net/', 'us-east-1'), { ok: { endpoint: 's3.example.net', port: 443 } });
  assert.deepEqual(parseS3Endpoint(undefined, 'eu-west-1'), { ok: { endpoint: 's3.eu-west-1.amazonaws.com', port: 443 } });
  assert.match(problem(parseS3Endpoint('http://minio:9000', 'r')) ?? '', /https/);
  assert.match(problem(parseS3Endpoint('https://10.0.0.5:9000', 'r')) ?? '', /host name/);
  assert.match(problem(parseS3Endpoint('https://m:99999', 'r')) ?? '', /port/);
  assert.match(problem(parseS3Endpoint('https://m/path', 'r')) ?? '', /HOST\[:PORT\]/);
});

const location: S3Location = { type: 's3', bucket: 'backups', path: '/dbaas', endpoint: 'minio.internal', port: 9000, region: 'us-east-1', uriStyle: 'path', privateCa: false };

test('a workflow refuses a location or reference it could not have got from the CLI', () => {
  assert.equal(s3LocationProblem(location), undefined);
  assert.match(s3LocationProblem({ ...location, path: '/../etc' }) ?? '', /repository path/);
  assert.match(s3LocationProblem({ ...location, endpoint: 'a b' }) ?? '', /endpoint/);
  assert.match(repositoryRequestProblem({ location, credentialsRef: '../../x' }) ?? '', /reference/);
  const spec = { name: 'orders', replicas: 1, sync: false, profile: 'fast' as const, etcdMembers: 1 as const };
  assert.throws(() => validateSpec({ ...spec, backups: false, backupTo: { location, credentialsRef: 'a'.repeat(32) } }), /contradict/);
  assert.doesNotThrow(() => validateSpec({ ...spec, backupTo: { location, credentialsRef: 'a'.repeat(32) } }));
  assert.equal(describeRepository(location, 'v', 'x'), 's3://backups/dbaas (https://minio.internal:9000, us-east-1)');
  assert.equal(describeRepository({ type: 'volume' }, 'dbaas-x-backup-repo', 'x'), 'volume dbaas-x-backup-repo');
});

test('CLI options: --s3-* without --backup-to, no region, bad style refused; path style with an endpoint, host style for AWS', () => {
  assert.equal(s3LocationFrom({}), undefined);
  assert.throws(() => s3LocationFrom({ s3Region: 'us-east-1' }), (e: unknown) => e instanceof UsageError && /--s3-region needs --backup-to/.test(e.message));
  assert.throws(() => s3LocationFrom({ backupTo: 's3://backups' }), /--s3-region/);
  assert.throws(() => s3LocationFrom({ backupTo: 's3://backups', s3Region: 'us-east-1', s3UriStyle: 'virtual' }), /path or host/);
  assert.equal(s3LocationFrom({ backupTo: 's3://backups', s3Region: 'us-east-1', s3Endpoint: 'https://m:9000' })?.uriStyle, 'path');
  assert.equal(s3LocationFrom({ backupTo: 's3://backups', s3Region: 'eu-west-1' })?.uriStyle, 'host');
});

test('CLI --backup-to: the repository host by default (not where a repository exists), volume for the old layout, no S3 option beside either', () => {
  const paths = resolvePaths({ DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-repo-')) });
  try {
    assert.deepEqual(repositoryRequestFrom({}, paths, {}), { location: { type: 'host' } });
    assert.deepEqual(repositoryRequestFrom({ backupTo: 'repository-host' }, paths, {}, false), { location: { type: 'host' } });
    assert.equal(repositoryRequestFrom({}, paths, {}, false), undefined);
    assert.equal(repositoryRequestFrom({ backupTo: 'volume' }, paths, {}), undefined);
    assert.throws(() => repositoryRequestFrom({ backupTo: 'volume', s3Region: 'us-east-1' }, paths, {}), /--s3-region is for an S3 bucket, not --backup-to volume/);
    assert.throws(() => repositoryRequestFrom({ backupTo: 'disk' }, paths, {}), /must be repository-host, volume or look like s3:/);
  } finally {
    fs.rmSync(paths.home, { recursive: true, force: true });
  }
});

test('CLI credentials: an AWS credentials file, or the environment; a file without keys, a missing one, no source at all refused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-s3-'));
  try {
    const good = path.join(dir, 'credentials');
    fs.writeFileSync(good, '[other]\naws_access_key_id = X\n[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cr/t+=\n');
    assert.deepEqual(s3CredentialsFrom({ s3Credentials: good }, {}), { accessKey: 'AKIA1', secretKey: 's3cr/t+=' });
    assert.deepEqual(s3CredentialsFrom({}, { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B' }), { accessKey: 'A', secretKey: 'B' });
    const empty = path.join(dir, 'empty');
    fs.writeFileSync(empty, '[other]\naws_access_key_id = X\n');
    assert.throws(() => s3CredentialsFrom({ s3Credentials: empty }, {}), /\[default\]/);
    assert.throws(() => s3CredentialsFrom({ s3Credentials: path.join(dir, 'none') }, {}), /no such file/);
    assert.throws(() => s3CredentialsFrom({}, { AWS_ACCESS_KEY_ID: 'A' }), /needs credentials/);
    const notPem = path.join(dir, 'ca');
    fs.writeFileSync(notPem, 'hello');
    assert.throws(() => s3CredentialsFrom({ s3Ca: notPem }, { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B' }), /not a PEM/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
