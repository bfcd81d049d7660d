// A node:test reporter that prints each test file's wall time at the end of the run, slowest
// first, so CI's log shows which files to trim (scripts/test.sh runs one file at a time; Node 20
// reports no per-file duration). A file's time runs from the previous file's last result to its
// own last result, so its `before` hook (the cluster it shares) counts too.
import { relative } from 'node:path';

export default async function* fileTimes(source) {
  const started = Date.now();
  const files = new Map(); // file -> { seconds, tests, failed }
  let last = started;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const file = event.data.file;
    if (!file) continue;
    const now = Date.now();
    const entry = files.get(file) ?? { ms: 0, tests: 0, failed: 0 };
    // Results of one file arrive together with the ones before them; a switch of file starts a
    // new span from the previous file's last result.
    entry.ms += now - last;
    last = now;
    // Leaf tests: a describe() block is a suite and counts through its tests.
    if (event.data.details?.type !== 'suite') {
      entry.tests += 1;
      if (event.type === 'test:fail') entry.failed += 1;
    }
    files.set(file, entry);
  }
  const rows = [...files.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = (Date.now() - started) / 1000;
  yield `\nwall time per test file (total ${total.toFixed(0)} s)\n`;
  for (const [file, e] of rows) {
    const name = relative(process.cwd(), file);
    yield `${(e.ms / 1000).toFixed(1).padStart(8)} s  ${String(e.tests).padStart(3)} tests${e.failed ? ` (${e.failed} failed)` : ''}  ${name}\n`;
  }
}
