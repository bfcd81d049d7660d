import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import { resolvePaths } from '../../common/paths';
import { DATA_DIR, SOCKET_DIR } from '../../common/render/patroni';
import { PGBACKREST_TLS, renderPostgresHostConfig, renderRepositoryHostConfig, type RepositoryHostStanza } from '../../common/render/pgbackrest-host';
import { REPOSITORY_HOST_AUTHORITY, ensurePgbackrestAuthority, pgbackrestTlsFiles } from '../../activities/backup-certificates';
import { readCaCert } from '../../activities/cluster-tls';

/** pgbackrest.conf as pgBackRest reads it: section → its `key=value` lines in order (keys may repeat). */
function sections(conf: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  let current = '';
  for (const line of conf.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      assert.ok(!out.has(header[1]), `section ${header[1]} twice`);
      current = header[1];
      out.set(current, []);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current !== '' && eq > 0, `stray line ${line}`);
    out.get(current)!.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return out;
}

const values = (lines: [string, string][] | undefined, key: string): string[] => (lines ?? []).filter(([k]) => k === key).map(([, v]) => v);
const one = (lines: [string, string][] | undefined, key: string): string | undefined => {
  const v = values(lines, key);
  assert.ok(v.length <= 1, `${key} ${v.length} times`);
  return v[0];
};

const orders: RepositoryHostStanza = {
  stanza: 'orders',
  pgHosts: ['dbaas-orders-pg-0', 'dbaas-orders-pg-1'],
  backupStandby: true,
  retention: { full: 2, diff: 3 },
  cipherPass: 'orders-pass',
};
const billing: RepositoryHostStanza = {
  stanza: 'billing',
  pgHosts: ['dbaas-billing-pg-0'],
  backupStandby: false,
  otherClients: ['dbaas-orders-pg-1', 'dbaas-restore-helper'],
  retention: { full: 1 },
};

test('the repository host: the repository, a TLS server on every address, each client CN authorized for its stanzas only', () => {
  const s = sections(renderRepositoryHostConfig({ stanzas: [orders, billing] }));
  assert.deepEqual([...s.keys()], ['global', 'orders', 'billing']);
  const g = s.get('global');
  assert.equal(one(g, 'repo1-path'), '/var/lib/pgbackrest');
  assert.equal(one(g, 'tls-server-address'), '*', 'the default (localhost) would serve no other container');
  assert.equal(one(g, 'tls-server-port'), '8432');
  assert.equal(one(g, 'tls-server-cert-file'), PGBACKREST_TLS.cert);
  assert.equal(one(g, 'tls-server-key-file'), PGBACKREST_TLS.key);
  assert.equal(one(g, 'tls-server-ca-file'), PGBACKREST_TLS.ca);
  // One line per CN (a hash option: a repeated CN would replace the earlier line).
  assert.deepEqual(values(g, 'tls-server-auth'), [
    'dbaas-orders-pg-0=orders',
    'dbaas-orders-pg-1=orders,billing',
    'dbaas-billing-pg-0=billing',
    'dbaas-restore-helper=billing',
  ]);
  assert.equal(one(g, 'start-fast'), 'y');
  assert.equal(one(g, 'repo1-cipher-pass'), undefined, 'passphrases are per stanza');
  assert.equal(one(g, 'repo1-host'), undefined);
});

test('the repository host: a stanza section names its PostgreSQL hosts as TLS pg hosts, with its retention and passphrase', () => {
  const s = sections(renderRepositoryHostConfig({ stanzas: [orders, billing] }));
  const o = s.get('orders');
  for (const [i, host] of orders.pgHosts.entries()) {
    const pg = `pg${i + 1}`;
    assert.equal(one(o, `${pg}-host`), host);
    assert.equal(one(o, `${pg}-host-type`), 'tls');
    assert.equal(one(o, `${pg}-host-cert-file`), PGBACKREST_TLS.cert);
    assert.equal(one(o, `${pg}-host-key-file`), PGBACKREST_TLS.key);
    assert.equal(one(o, `${pg}-host-ca-file`), PGBACKREST_TLS.ca);
    assert.equal(one(o, `${pg}-path`), DATA_DIR);
    assert.equal(one(o, `${pg}-socket-path`), SOCKET_DIR);
  }
  assert.equal(one(o, 'pg3-host'), undefined);
  assert.equal(one(o, 'backup-standby'), 'y');
  assert.equal(one(o, 'repo1-retention-full'), '2');
  assert.equal(one(o, 'repo1-retention-diff'), '3');
  assert.equal(one(o, 'repo1-cipher-type'), 'aes-256-cbc');
  assert.equal(one(o, 'repo1-cipher-pass'), 'orders-pass');
  const b = s.get('billing');
  assert.equal(one(b, 'pg1-host'), 'dbaas-billing-pg-0');
  assert.equal(one(b, 'backup-standby'), 'n');
  assert.equal(one(b, 'repo1-retention-diff'), undefined);
  assert.equal(one(b, 'repo1-cipher-pass'), undefined, 'a stanza from an unencrypted repository has no cipher');
});

test('a PostgreSQL host: the repository over TLS with its client certificate, its own server for the repository host only, no secret', () => {
  const conf = renderPostgresHostConfig({ stanza: 'orders', repositoryHost: 'dbaas-backup' });
  const s = sections(conf);
  assert.deepEqual([...s.keys()], ['global', 'orders']);
  const g = s.get('global');
  assert.equal(one(g, 'repo1-host'), 'dbaas-backup');
  assert.equal(one(g, 'repo1-host-type'), 'tls');
  assert.equal(one(g, 'repo1-host-cert-file'), PGBACKREST_TLS.cert);
  assert.equal(one(g, 'repo1-host-key-file'), PGBACKREST_TLS.key);
  assert.equal(one(g, 'repo1-host-ca-file'), PGBACKREST_TLS.ca);
  assert.equal(one(g, 'repo1-path'), undefined, 'the repository host says where the repository is');
  assert.equal(one(g, 'tls-server-address'), '*');
  assert.deepEqual(values(g, 'tls-server-auth'), ['dbaas-backup=orders']);
  assert.equal(one(s.get('orders'), 'pg1-path'), DATA_DIR);
  assert.equal(one(s.get('orders'), 'pg1-socket-path'), SOCKET_DIR);
  assert.ok(!/cipher/.test(conf), 'the passphrase stays on the repository host');
});

test('names that could add lines or change an authorization are refused, not rendered', () => {
  for (const bad of ['a\nrepo1-path=/', 'a=b', 'a,b', 'a b', '', '-x']) {
    assert.throws(() => renderPostgresHostConfig({ stanza: bad, repositoryHost: 'dbaas-backup' }), /cannot go into pgbackrest\.conf/);
    assert.throws(() => renderPostgresHostConfig({ stanza: 'orders', repositoryHost: bad }), /cannot go into pgbackrest\.conf/);
    assert.throws(() => renderRepositoryHostConfig({ stanzas: [{ ...orders, pgHosts: [bad] }] }), /cannot go into pgbackrest\.conf/);
    assert.throws(() => renderRepositoryHostConfig({ stanzas: [{ ...orders, otherClients: [bad] }] }), /cannot go into pgbackrest\.conf/);
    assert.throws(() => renderRepositoryHostConfig({ stanzas: [{ ...orders, stanza: bad }] }), /cannot go into pgbackrest\.conf/);
  }
  assert.throws(() => renderRepositoryHostConfig({ stanzas: [orders, orders] }), /stanza orders is listed twice/);
  assert.throws(() => renderRepositoryHostConfig({ stanzas: [{ ...orders, pgHosts: [] }] }), /1 to 256 PostgreSQL hosts/);
});

test('a pgBackRest certificate: CN and only DNS name the host, server and client purposes, from the authority; key 0600 for its user', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-pgbackrest-tls-'));
  try {
    const paths = resolvePaths({ ...process.env, DBAAS_HOME: home });
    await ensurePgbackrestAuthority(paths);
    const files = await pgbackrestTlsFiles(paths, REPOSITORY_HOST_AUTHORITY, 'dbaas-orders-pg-0', 999);
    const at = (p: string) => files.find((f) => `${f.dir}/${f.name}` === p)!;
    assert.deepEqual(files.map((f) => `${f.dir}/${f.name}`).sort(), [PGBACKREST_TLS.ca, PGBACKREST_TLS.cert, PGBACKREST_TLS.key].sort());
    assert.equal(at(PGBACKREST_TLS.key).mode, 0o600);
    assert.ok(files.every((f) => f.uid === 999 && f.gid === 999));
    assert.equal(at(PGBACKREST_TLS.ca).content, readCaCert(paths, REPOSITORY_HOST_AUTHORITY));

    const cert = new x509.X509Certificate(at(PGBACKREST_TLS.cert).content);
    assert.equal(cert.subject, 'CN=dbaas-orders-pg-0');
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [{ type: 'dns', value: 'dbaas-orders-pg-0' }]);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    assert.deepEqual([...(eku?.usages ?? [])].sort(), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth].sort());
    assert.ok(await cert.verify({ publicKey: new x509.X509Certificate(readCaCert(paths, REPOSITORY_HOST_AUTHORITY)).publicKey }));
    // The key is the certificate's.
    const key = crypto.createPrivateKey(at(PGBACKREST_TLS.key).content);
    assert.equal(
      crypto.createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('hex'),
      Buffer.from(cert.publicKey.rawData).toString('hex'),
    );
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
