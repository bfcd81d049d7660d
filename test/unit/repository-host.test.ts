/** The repository host's configs and scripts (activities/repository-host/render.ts) and a member's config for it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPgbackrestConfig } from '../../common/render/pgbackrest';
import {
  purgeStanzaScript, renderRootStanzaConfig, renderStanzaServerConfig, repositoryClientName, sealArchiveScript, SERVE_SCRIPT_TEXT, stanzaLayoutScript,
} from '../../activities/repository-host/render';

const SERVER = { stanza: 'orders', uid: 20002, port: 8434, version: 15 } as const;

test('a stanza server: its own port, one authorized client CN for its stanza, the passphrase only in its stanza section', () => {
  const conf = renderStanzaServerConfig(SERVER, 'p4ss');
  assert.match(conf, /^tls-server-port=8434$/m);
  assert.match(conf, /^tls-server-address=\*$/m);
  assert.deepEqual(conf.split('\n').filter((l) => l.startsWith('tls-server-auth=')), [`tls-server-auth=${repositoryClientName('orders')}=orders`]);
  assert.match(conf, /\[orders\]\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=p4ss/);
  assert.match(conf, /^tls-server-key-file=\/etc\/pgbackrest\/servers\/orders\/tls\.key$/m);
  assert.doesNotMatch(renderStanzaServerConfig(SERVER, undefined), /cipher/);
});

test("root's config: the leader as pg1, the standby as pg2 over TLS with root's files, backup-standby, retention", () => {
  const conf = renderRootStanzaConfig({ stanza: 'orders', pgHosts: ['dbaas-orders-pg-0', 'dbaas-orders-pg-1'], backupStandby: true, retention: { full: 3, diff: 2 }, cipherPass: 'p4ss' });
  for (const l of [
    'pg1-host=dbaas-orders-pg-0', 'pg2-host=dbaas-orders-pg-1', 'pg2-host-type=tls', 'pg2-host-port=8432',
    'pg1-host-cert-file=/etc/pgbackrest/root/orders/tls.crt', 'backup-standby=y', 'repo1-retention-full=3', 'repo1-retention-diff=2',
    'repo1-cipher-pass=p4ss', 'repo1-path=/var/lib/pgbackrest', 'start-fast=y',
  ]) assert.ok(conf.split('\n').includes(l), `${l} in\n${conf}`);
  const info = renderRootStanzaConfig({ stanza: 'orders', pgHosts: [], backupStandby: false, retention: { full: 2 }, cipherPass: undefined });
  assert.doesNotMatch(info, /pg1-host|cipher/);
});

test('names that would change a config line or what is authorized are refused, never rendered', () => {
  for (const stanza of ['a\nrepo1-path=/', 'a=b', 'a,b', 'a b', '../x']) {
    assert.throws(() => renderStanzaServerConfig({ ...SERVER, stanza }, undefined), /cannot go into pgbackrest.conf/);
    assert.throws(() => stanzaLayoutScript({ ...SERVER, stanza }), /cannot go into pgbackrest.conf/);
    assert.throws(() => purgeStanzaScript({ ...SERVER, stanza }), /cannot go into pgbackrest.conf/);
  }
  assert.throws(() => renderRootStanzaConfig({ stanza: 'orders', pgHosts: ['x\ny'], backupStandby: false, retention: { full: 1 }, cipherPass: undefined }));
});

test("the stanza's directories: backups root's and read-only to the server's group, WAL addable but sealed to root", () => {
  const layout = stanzaLayoutScript(SERVER);
  assert.match(layout, /install -d -o 0 -g 20002 -m 2750 \/var\/lib\/pgbackrest\/backup\/orders/);
  assert.match(layout, /install -d -o 0 -g 20002 -m 3770 \/var\/lib\/pgbackrest\/archive\/orders/);
  assert.match(layout, /install -d -o 20002 -g 20002 -m 0700 \/etc\/pgbackrest\/servers\/orders/);
  assert.equal(sealArchiveScript('orders'),
    "find /var/lib/pgbackrest/archive/orders -name '*.pgbackrest.tmp' -user 0 -delete; " +
    "find /var/lib/pgbackrest/archive/orders ! -name '*.pgbackrest.tmp' ! -user 0 -exec chown 0 {} + && find /var/lib/pgbackrest/archive/orders -type d -exec chmod 3770 {} +",
    'a push in flight (its temporary file) stays the server\'s: it renames the file when done');
});

test("a member's config for the repository host: the stanza's server over TLS, no passphrase, no retention, its own TLS server kept", () => {
  const conf = renderPgbackrestConfig({
    stanza: 'orders', tlsServer: true, retention: { full: 2 }, cipherPass: 'p4ss',
    repository: { type: 'host', host: 'dbaas-backup', port: 8434, tls: { cert: '/c', key: '/k', ca: '/ca' } },
  });
  for (const l of ['repo1-host=dbaas-backup', 'repo1-host-type=tls', 'repo1-host-port=8434', 'repo1-host-cert-file=/c', 'repo1-host-key-file=/k', 'repo1-host-ca-file=/ca', 'tls-server-port=8432']) {
    assert.ok(conf.split('\n').includes(l), `${l} in\n${conf}`);
  }
  assert.doesNotMatch(conf, /cipher|retention|repo1-path/);
});

test('a stanza\'s server runs the pgBackRest its root file names, read at each start: an upgraded stanza\'s server starts again on 2.55', () => {
  assert.match(SERVE_SCRIPT_TEXT, /binary_file="\/etc\/pgbackrest\/root\/\$stanza\/server-binary"/);
  const loop = SERVE_SCRIPT_TEXT.slice(SERVE_SCRIPT_TEXT.indexOf('while'));
  assert.match(loop, /binary="\$\(cat "\$binary_file"/);
  assert.match(loop, /--clear-groups "\$binary" server/);
});
