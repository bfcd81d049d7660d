import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { contextHash } from '../../client/dev/images';

const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Write files (relative path → content) into a fresh temp dir, in the given order. */
function makeDir(files: Array<[string, string]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctxhash-'));
  made.push(dir);
  for (const [rel, content] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

const files: Array<[string, string]> = [
  ['Dockerfile', 'FROM debian:bookworm-slim\n'],
  ['conf/a.yml', 'a: 1\n'],
  ['conf/b.yml', 'b: 2\n'],
];

test('same files give the same hash', async () => {
  const h1 = await contextHash(makeDir(files));
  const h2 = await contextHash(makeDir(files));
  assert.match(h1, /^[0-9a-f]{64}$/);
  assert.equal(h1, h2);
});

test('creation order does not matter', async () => {
  const h1 = await contextHash(makeDir(files));
  const h2 = await contextHash(makeDir([...files].reverse()));
  assert.equal(h1, h2);
});

test('changed content changes the hash', async () => {
  const dir = makeDir(files);
  const before = await contextHash(dir);
  fs.writeFileSync(path.join(dir, 'conf/a.yml'), 'a: 3\n');
  assert.notEqual(await contextHash(dir), before);
});

test('renamed or added files change the hash', async () => {
  const base = await contextHash(makeDir(files));
  const renamed = await contextHash(makeDir([files[0], ['conf/c.yml', 'a: 1\n'], files[2]]));
  const added = await contextHash(makeDir([...files, ['extra', '']]));
  assert.notEqual(renamed, base);
  assert.notEqual(added, base);
});

test('content moving across a file boundary changes the hash', async () => {
  const h1 = await contextHash(makeDir([['a', 'xy'], ['b', 'z']]));
  const h2 = await contextHash(makeDir([['a', 'x'], ['b', 'yz']]));
  assert.notEqual(h1, h2);
});
