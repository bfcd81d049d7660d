import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const MAIN = path.join(__dirname, '..', '..', 'client', 'main.js');

test('the CLI exits only once a slow pipe has all of its output (process.exit alone kept 64 KiB)', async () => {
  const size = 300_000;
  const child = spawn(process.execPath, ['-e', `const m = require(${JSON.stringify(MAIN)}); process.stdout.write('x'.repeat(${size})); m.exitWhenFlushed(0);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  // A reader slower than the writer: nothing is read for a while.
  child.stdout.pause();
  await new Promise((r) => setTimeout(r, 500));
  let got = 0;
  child.stdout.on('data', (c: Buffer) => { got += c.length; });
  child.stdout.resume();
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0);
  assert.equal(got, size);
});
