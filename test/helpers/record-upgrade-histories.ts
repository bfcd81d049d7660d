/**
 * Records UpgradeBlueGreen histories for the replay test (test/workflow/upgrade-replay.test.ts)
 * with the workflow code of another checkout, run against the test's Temporal and the blue/green
 * fakes. Record the code that runs today before changing the cutover, its decision or the
 * put-back; the replay test then tells whether runs in flight on it still replay.
 *
 *   git archive <commit> | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node dist/test/helpers/record-upgrade-histories.js /tmp/old <label>
 *
 * writes test/histories/upgrade-blue-green/<label>-<scenario>.json.gz (label: the session whose code it is).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createLeaseActivities } from '../../activities/lease';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { keepAliveOptions } from '../../worker/keep-alive';
import { blueGreenFakes, failingCall, withBackups } from './blue-green-fakes';
import { fakeActivities } from './fake-activities';
import type { ExtraActivity } from './run-with-fakes';
import { startTestTemporal } from './temporal';

export const HISTORIES_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'histories', 'upgrade-blue-green');

interface Scenario {
  /** Activities over the blue/green fakes. */
  extra?: () => Record<string, ExtraActivity>;
  /** Workflow input beyond cluster and target (code from before the pause's limit ignores it). */
  input?: Record<string, unknown>;
  /** Drives the run; returns 'open' to record it while it waits (then it is terminated). */
  drive(h: WorkflowHandle): Promise<'open' | 'closed'>;
}

const statusOf = (h: WorkflowHandle): Promise<UpgradeStatus | null> => h.query<UpgradeStatus>('upgradeStatus').catch(() => null);

/** Until the run waits for a decision (`again`: after a failed one), or ends. */
async function untilWaiting(h: WorkflowHandle, again = false): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    const s = await statusOf(h);
    if (s?.awaitingDecision && (!again || s.decisionProblem)) return true;
    const { status } = await h.describe();
    if (status.name !== 'RUNNING') return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${h.workflowId} never waited for a decision`);
}

const ended = async (h: WorkflowHandle): Promise<'closed'> => {
  await h.result().catch(() => undefined);
  return 'closed';
};

const decide = (signal: string, arg?: unknown) => async (h: WorkflowHandle): Promise<'closed'> => {
  if (await untilWaiting(h)) await (arg === undefined ? h.signal(signal) : h.signal(signal, arg));
  // A decision that failed may bring the run back to the decision: finish then.
  if (await untilWaiting(h, true)) await h.signal('upgradeFinish');
  return ended(h);
};

const rollback = decide('upgradeRollback', { discardWrites: true });

/** A wait that outlasts a short pause limit, heartbeating (so its cancellation reaches it). */
const slowCopy = async (): Promise<{ waitedMs: number }> => {
  await new Promise((r) => setTimeout(r, 6_000));
  return { waitedMs: 6_000 };
};

export const SCENARIOS: Record<string, Scenario> = {
  /** Cut over, waiting for the decision: the history of a run in flight across a deploy. */
  'waiting': { drive: async (h) => ((await untilWaiting(h)) ? 'open' : 'closed') },
  'finished': { drive: decide('upgradeFinish') },
  'rolled-back': { drive: rollback },
  /** HAProxy's move fails once: generation 1 put back, generation 2 removed, the run fails. */
  'cutover-put-back': { extra: () => ({ serveMembers: failingCall(1, { members: [] }, 'HAProxy runtime API refused') }), drive: ended },
  /** The copy fails before the serving file moved: writes and the poolers back only. */
  'cutover-fails-before-move': {
    extra: () => ({ waitForCopyAt: async () => { throw ApplicationFailure.create({ type: 'Stalled', nonRetryable: true, message: 'the copy stood still' }); } }),
    drive: ended,
  },
  /** The rollback's HAProxy move fails: its put-back (or, before there was one, the run's end). */
  'rollback-put-back': { extra: () => ({ serveMembers: failingCall(2, { members: [] }, 'HAProxy runtime API refused') }), drive: rollback },
  /** The pause's limit passes while the copy is awaited: the step cancelled, generation 1 put back. */
  'cutover-deadline': { extra: () => ({ waitForCopyAt: slowCopy }), input: { writePauseLimitMs: 2_000 }, drive: async (h) => ((await untilWaiting(h)) ? 'open' : 'closed') },
};

const History = temporal.api.history.v1.History;

/** The proto's own JSON form (longs and bytes as strings: historyToJSON fails with this install's two protobufjs copies). */
const historyText = (h: temporal.api.history.v1.IHistory): string =>
  JSON.stringify(History.toObject(History.fromObject(h), { longs: String, bytes: String }));

/** A recorded history, as the replay worker takes it. */
export const readHistory = (file: string): temporal.api.history.v1.History =>
  History.fromObject(JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) as object);

async function record(source: string, label: string, only?: string[]): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(source, 'workflows', 'index.ts'), logger: quietLogger });
  const env = await startTestTemporal();
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  try {
    for (const [name, s] of Object.entries(SCENARIOS)) {
      if (only && !only.includes(name)) continue;
      const taskQueue = `record-${label}-${name}`;
      const f = fakeActivities({ describe: withBackups });
      const extra = { ...blueGreenFakes(), ...s.extra?.() };
      const worker = await Worker.create({
        connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, workflowBundle: { code },
        activities: { ...createLeaseActivities(), ...f.activities, ...extra }, ...keepAliveOptions,
      });
      const history = await worker.runUntil(async () => {
        const h = await env.client.workflow.start('upgradeBlueGreen', { taskQueue, workflowId: taskQueue, args: [{ cluster: 'orders', to: 17, ...s.input }] });
        const state = await s.drive(h);
        const events = await h.fetchHistory();
        if (state === 'open') await h.terminate('recorded');
        return events;
      });
      const file = path.join(HISTORIES_DIR, `${label}-${name}.json.gz`);
      fs.writeFileSync(file, zlib.gzipSync(`${historyText(history)}\n`, { level: 9 }));
      console.log(`${file}: ${history.events?.length ?? 0} events`);
    }
  } finally {
    await env.teardown();
  }
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop };

if (require.main === module) {
  const [source, label, ...only] = process.argv.slice(2);
  if (!source || !label) {
    console.error('usage: node dist/test/helpers/record-upgrade-histories.js SOURCE_DIR LABEL [SCENARIO…]');
    process.exit(2);
  }
  record(path.resolve(source), label, only.length > 0 ? only : undefined).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
