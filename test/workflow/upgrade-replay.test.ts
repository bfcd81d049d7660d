/**
 * Blue/green runs recorded with the code of earlier sessions (test/helpers/record-upgrade-histories.ts)
 * replay on this code: a run in flight across a deploy goes on instead of failing its workflow
 * tasks with a nondeterminism error. Record the code that runs today before changing the upgrade
 * workflow; guard a change of what it schedules (activities, timers, their order) with `patched()`.
 *
 * Some older runs cannot replay, and no patch added now can make them: a patch's marker is only in
 * histories written by code that had it, so histories of s19, s20 and s21 code (none has a marker
 * for these changes) all read a new patch as absent and replay the same branch. s22 chose s21's
 * put-back for them; s20's put-back and s19's cutover differ from it (README, "Updating dbaas
 * during an upgrade").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DefaultLogger, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../../worker/run';
import { HISTORIES_DIR, readHistory } from '../helpers/record-upgrade-histories';

/** Histories that do not replay, and why: they show where a run of that code would stop. */
const NOT_REPLAYING: Record<string, string> = {
  // s20 put the cutover's steps under a workflow timer (the pause's deadline): every run that
  // began its cutover on s19 code, including one waiting for finish or rollback.
  's19-waiting': 'the pause\'s deadline timers (s20)',
  // s21's put-back: one timer over its steps, the check whether the move went through first, a
  // cancelled step waited for. Only a failed cutover or rollback (seconds, then the run ends) differs.
  's20-cutover-put-back': 'the put-back asks whether the move went through first (s21)',
  's20-cutover-fails-before-move': 'the put-back runs under its own limit, a timer (s21)',
  's20-cutover-deadline': 'a cancelled step is waited for before the put-back (s21)',
  's20-rollback-put-back': 'the put-back asks whether the move went through first (s21)',
};

test('recorded blue/green runs of earlier code replay on this code (but those known not to, which still do not)', async () => {
  // Replay needs no server. The histories that do not replay would each log their error.
  Runtime.install({ logger: new DefaultLogger('ERROR', () => undefined), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json.gz')).sort();
  assert.ok(files.length >= 28, `recorded histories in ${HISTORIES_DIR}`);
  const results: string[] = [];
  for (const file of files) {
    const name = file.replace(/\.json\.gz$/, '');
    const error = await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }, readHistory(path.join(HISTORIES_DIR, file)), name)
      .then(() => undefined, (err: unknown) => err as Error);
    const expected = NOT_REPLAYING[name];
    if (expected === undefined && error) results.push(`${name} does not replay: ${error.name}: ${error.message.split('\n')[0]}`);
    if (expected !== undefined && !error) results.push(`${name} replays now (${expected} no longer stops it): take it off NOT_REPLAYING`);
    if (expected !== undefined && error && error.name !== 'DeterminismViolationError') results.push(`${name}: ${error.name} instead of a nondeterminism error: ${error.message}`);
  }
  assert.deepEqual(results, []);
});
