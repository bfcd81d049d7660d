/** Activity proxies by kind of step: quick Docker calls, heartbeating waits, cleanup. */
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { LOCAL_HOST, type HostName } from '../common/inventory';
import { hostTaskQueue } from '../common/task-queues';

/** Activity failure types retrying cannot mend (common/error-types.ts). */
export const FINAL_ERRORS = ['ResourceConflict', 'ClusterExists', 'ClusterNotFound', 'NoPortsAvailable', 'SecretsMissing', 'MemberRefused', 'HaproxyConfigInvalid', 'RestoreFailed', 'Stalled'];

/**
 * Docker create/start calls take seconds. The worker heartbeats them every 2 s
 * (worker/keep-alive.ts), so a killed worker's step is retried within 10 s, not after the minute.
 */
const QUICK: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: FINAL_ERRORS },
};
export const quick = proxyActivities<Activities>(QUICK);

/** Long waits heartbeat; a missed heartbeat (worker killed) re-runs the wait on another worker. */
const WAITS: ActivityOptions = {
  startToCloseTimeout: '12 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3, nonRetryableErrorTypes: FINAL_ERRORS },
};
export const waits = proxyActivities<Activities>(WAITS);

/** Cleanup must finish: generous retries; keep-alive heartbeats as for `quick`. */
const CLEANUP: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
};
export const cleanup = proxyActivities<Activities>(CLEANUP);

/**
 * A clone, restore or backup of a large database takes as long as it takes: the activity itself
 * fails (Stalled, final) once its progress stands still; 24 h is only a backstop, and the
 * heartbeat still catches a dead worker within 10 s.
 */
const LONG_RUNNING: ActivityOptions = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: FINAL_ERRORS },
};
export const longRunning = proxyActivities<Activities>(LONG_RUNNING);

/**
 * The same kinds of steps, on the task queue of the worker that owns a host's engine (Temporal's
 * worker-specific task queues). Nothing else can run them when that host is gone, so each has a
 * schedule-to-close timeout over all its attempts: a dead host fails the step instead of hanging.
 * Host `local` keeps the shared queue: its engine is the control worker's own.
 */
export interface HostSteps {
  quick: typeof quick;
  waits: typeof waits;
  cleanup: typeof cleanup;
  longRunning: typeof longRunning;
}

/** Proxies are cheap and made per call: a module-level cache could outlive the workflow (and its task queue) that made it. */
export function onHost(host: HostName, o: { startWithin?: ActivityOptions['scheduleToStartTimeout'] } = {}): HostSteps {
  if (host === LOCAL_HOST) return { quick, waits, cleanup, longRunning };
  const taskQueue = hostTaskQueue(workflowInfo().taskQueue, host);
  // startWithin: a step that can go elsewhere (it follows the leader) fails fast, unretried, when no worker of the host takes it.
  const start = o.startWithin !== undefined ? { scheduleToStartTimeout: o.startWithin } : {};
  return {
    quick: proxyActivities<Activities>({ ...QUICK, taskQueue, scheduleToCloseTimeout: '3 minutes', ...start }),
    waits: proxyActivities<Activities>({ ...WAITS, taskQueue, scheduleToCloseTimeout: '40 minutes', ...start }),
    cleanup: proxyActivities<Activities>({ ...CLEANUP, taskQueue, scheduleToCloseTimeout: '30 minutes', ...start }),
    longRunning: proxyActivities<Activities>({ ...LONG_RUNNING, taskQueue, scheduleToCloseTimeout: '25 hours', ...start }),
  };
}
