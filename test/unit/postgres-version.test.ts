import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILES, profileOfDcs, profileTiming, timingDcsPatch, validateSpec, SpecError, type ClusterSpec } from '../../common/spec';
import { pgBinDir, postgresVersionProblem, timingFor, versionOf } from '../../common/postgres-version';
import { postgresImage, IMAGES } from '../../common/images';
import { parseVersion } from '../../client/args';
import { UsageError } from '../../client/errors';
import { normalizeRole, postgresStateOf } from '../../activities/patroni-api';
import { pgbackrestBinary } from '../../activities/repository-host/render';
import { renderPatroniConfig } from '../../common/render/patroni';

test('a version per cluster: 15 for specs written before versions, the image and binaries of each', () => {
  assert.equal(versionOf({}), 15);
  assert.equal(versionOf({ postgresVersion: 17 }), 17);
  assert.equal(postgresImage(15), IMAGES.postgres);
  assert.equal(postgresImage(17), IMAGES.postgres17);
  assert.equal(pgBinDir(17), '/usr/lib/postgresql/17/bin');
  assert.equal(postgresVersionProblem(undefined), undefined);
  assert.match(postgresVersionProblem(16) ?? '', /--version must be one of 15, 17, got 16/);
  assert.equal(parseVersion('17'), 17);
  for (const bad of ['16', '17.1', 'latest', '']) assert.throws(() => parseVersion(bad), (e: Error) => e instanceof UsageError && !e.message.includes('\n'));
});

test('Patroni 4 raises fast\'s ttl to its minimum of 20 s; dbaas writes what it will hold, and reads either back as the profile', () => {
  assert.deepEqual(profileTiming('fast', 15), PROFILES.fast.patroni);
  assert.deepEqual({ ...profileTiming('fast', 17) }, { ...PROFILES.fast.patroni, ttl: 20 });
  assert.deepEqual(profileTiming('default', 17), PROFILES.default.patroni);
  assert.deepEqual(timingFor({ ttl: 10, loopWait: 0, retryTimeout: 1 }, 17), { ttl: 20, loopWait: 1, retryTimeout: 3 });
  for (const v of [15, 17] as const) assert.equal(profileOfDcs(timingDcsPatch(profileTiming('fast', v))), 'fast');
  const config = renderPatroniConfig({
    cluster: 'orders', member: 'pg-0', etcdMembers: ['etcd-0'], profile: { ...PROFILES.fast, patroni: profileTiming('fast', 17) }, sync: false,
    tags: { nofailover: false, noloadbalance: false }, passwords: { superuser: 's', replication: 'r', rewind: 'w', pooler: 'p' }, archive: true, tls: false, version: 17,
  });
  assert.match(config, /ttl: 20/);
  assert.match(config, /bin_dir: \/usr\/lib\/postgresql\/17\/bin/);
});

test('both majors back up to the repository host (its pgBackRest matches each stanza\'s); an unknown major is refused', () => {
  const spec: ClusterSpec = { name: 'orders', replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, postgresVersion: 17 };
  validateSpec({ ...spec, backupTo: { location: { type: 'host' } } });
  validateSpec(spec);
  assert.equal(pgbackrestBinary(15), '/opt/pgbackrest-2.45/pgbackrest');
  assert.equal(pgbackrestBinary(17), '/usr/bin/pgbackrest');
  validateSpec({ ...spec, postgresVersion: 15, backupTo: { location: { type: 'host' } } });
  assert.throws(() => validateSpec({ ...spec, postgresVersion: 16 as never }), /--version must be one of 15, 17/);
});

test('Patroni 3.0.2 and 4 spellings read the same: roles, and a replica that replays is running', () => {
  for (const r of ['master', 'primary', 'leader']) assert.equal(normalizeRole(r), 'leader');
  assert.equal(normalizeRole('quorum_standby'), 'sync_standby');
  for (const s of ['running', 'streaming', 'in archive recovery']) assert.equal(postgresStateOf(s), 'running');
  assert.equal(postgresStateOf('starting'), 'starting');
  assert.equal(postgresStateOf('stopped'), 'stopped');
});
