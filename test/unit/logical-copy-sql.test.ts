import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyTarget, createSubscriptionSql, formatLsn, parseLsn, publisherConninfo, quoteIdent, quoteLiteral, replicationLagBytes, setSequencesSql, slotName, subscriptionName,
} from '../../activities/upgrade/logical-copy-sql';

const publisher = { host: 'dbaas-orders-pg-0', port: 5432, user: 'postgres', database: "o'brien", passfile: '/var/lib/dbaas/upgrade.pgpass', sslRootCert: '/etc/dbaas/tls/ca.crt' };

test('names are deterministic per generation, slots per database OID', () => {
  assert.equal(subscriptionName(2), 'dbaas_upgrade_g2');
  assert.equal(slotName(2, 16384), 'dbaas_upgrade_g2_16384');
  assert.ok(/^[a-z0-9_]{1,63}$/.test(slotName(99, 4294967295)), 'a valid slot name even for the largest OID');
});

test('quoting: identifiers and literals double their quote; conninfo values escape \\ and \'', () => {
  assert.equal(quoteIdent('my"table'), '"my""table"');
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(publisherConninfo({ ...publisher, database: 'a\\b' }).includes("dbname='a\\\\b'"), true);
  const c = publisherConninfo(publisher);
  assert.match(c, /^host='dbaas-orders-pg-0' port='5432' user='postgres' dbname='o\\'brien' passfile='\/var\/lib\/dbaas\/upgrade.pgpass' sslmode='verify-full' sslrootcert='\/etc\/dbaas\/tls\/ca.crt'$/);
  assert.doesNotMatch(c, /password/, 'the password stays in the passfile');
  assert.match(publisherConninfo({ ...publisher, sslRootCert: undefined }), /sslmode='prefer'$/);
});

test('CREATE SUBSCRIPTION: the conninfo as one SQL literal, the slot named for the publisher database', () => {
  const sql = createSubscriptionSql(2, publisher, 16390);
  assert.match(sql, /^CREATE SUBSCRIPTION "dbaas_upgrade_g2" CONNECTION 'host=''dbaas-orders-pg-0'' /);
  assert.match(sql, /dbname=''o\\''brien''/);
  assert.match(sql, /PUBLICATION "dbaas_upgrade" WITH \(slot_name = 'dbaas_upgrade_g2_16390', copy_data = true, create_slot = true, enabled = true\)$/);
});

test('sequences: one setval per sequence, values checked as integers', () => {
  assert.equal(setSequencesSql([]), 'SELECT 0');
  const sql = setSequencesSql([{ name: 'public.orders_id_seq', value: '5000' }, { name: '"My"".Schema".s', value: '-3' }]);
  assert.match(sql, /\('public\.orders_id_seq', 5000::bigint\), \('"My""\.Schema"\.s', -3::bigint\)/);
  assert.throws(() => setSequencesSql([{ name: 's', value: '1; drop table x' }]), /not an integer/);
});

test('WAL positions and the lag between them', () => {
  assert.equal(parseLsn('0/16B3740'), 0x16B3740n);
  assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) + 0xB374D848n);
  assert.throws(() => parseLsn('nope'), /not a WAL position/);
  assert.equal(replicationLagBytes('0/3000000', '0/2000000'), 0x1000000);
  assert.equal(replicationLagBytes('0/2000000', '0/3000000'), 0, 'a subscriber past the publisher position read earlier');
  assert.equal(replicationLagBytes('0/2000000', null), null);
});

test('WAL positions print as PostgreSQL prints them', () => {
  assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
  assert.equal(formatLsn(0n), '0/0');
});

test('the copy target: the insert position, or the page start when it points just past a page header', () => {
  const mb16 = 16 * 1024 * 1024;
  assert.equal(copyTarget(`0/3000A10 8192 ${mb16}`), '0/3000A10', 'mid-page: as it is');
  assert.equal(copyTarget(`0/3002018 8192 ${mb16}`), '0/3002000', 'past a short page header (24 bytes)');
  assert.equal(copyTarget(`1/4000028 8192 ${mb16}`), '1/4000000', "past a segment's long page header (40 bytes)");
  assert.equal(copyTarget(`0/3002020 8192 ${mb16}`), '0/3002020', 'a record continued on the page ends 8 bytes on: it counts');
  assert.equal(copyTarget(`0/3000018 8192 ${mb16}`), '0/3000018', "a segment's first page has the long header: 24 bytes in is not past it");
  assert.throws(() => copyTarget('0/3000A10'), /not a WAL stop point/);
});
