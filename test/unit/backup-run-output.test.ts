/** The backup's exec: its command line for `sh -c`, and the backup it made read off its stdout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INFO_FOLLOWS, backupIn, shellWords } from '../../activities/backup-run';
import { demux } from '../../activities/hosts/engine-api';
import { PGBACKREST_INFO_JSON } from '../helpers/fake-backup';

/** One stdout frame of Docker's multiplexed stream. */
const frame = (stream: 1, text: string): Buffer => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

test('shellWords: options stay as they are; anything else is quoted for sh, quotes included', () => {
  assert.equal(shellWords(['pgbackrest', '--stanza=orders', '--pg2-host=dbaas-orders-pg-1', '--repo1-retention-full=2', 'backup']),
    'pgbackrest --stanza=orders --pg2-host=dbaas-orders-pg-1 --repo1-retention-full=2 backup');
  assert.equal(shellWords(['echo', 'a b', "it's", '$HOME;rm']), `echo 'a b' 'it'\\''s' '$HOME;rm'`);
});

test('the exec\'s stdout (the only stream attached) read back whole, in order, split where the engine split it', () => {
  const buf = Buffer.concat([frame(1, 'one\n'), frame(1, 'tw'), frame(1, 'o\n')]);
  assert.equal(demux(buf), 'one\ntwo\n');
});

test('backupIn: the backup the info after the marker lists beyond `before`; none without the marker, with a broken info, or with nothing new', () => {
  const out = `WARN: something pgBackRest said\n${INFO_FOLLOWS}\n${PGBACKREST_INFO_JSON}\n`;
  assert.equal(backupIn({ cluster: 'demo', type: 'full', before: [] }, out)?.label, '20261123-113627F');
  assert.equal(backupIn({ cluster: 'demo', type: 'full', before: ['20261123-113627F'] }, out), undefined);
  assert.equal(backupIn({ cluster: 'demo', type: 'full', before: [] }, PGBACKREST_INFO_JSON), undefined, 'no marker: the info is read again');
  assert.equal(backupIn({ cluster: 'demo', type: 'full', before: [] }, `${INFO_FOLLOWS}\n{"cut`), undefined);
});
