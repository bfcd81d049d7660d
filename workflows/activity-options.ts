/** Activity proxies by kind of step: quick Docker calls, heartbeating waits, cleanup. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const FINAL_ERRORS = ['ResourceConflict', 'ClusterExists', 'ClusterNotFound', 'NoPortsAvailable', 'SecretsMissing', 'MemberRefused', 'HaproxyConfigInvalid', 'RestoreFailed', 'Stalled'];

/**
 * Docker create/start calls take seconds. The worker heartbeats them every 2 s
 * (worker/keep-alive.ts), so a killed worker's step is retried within 10 s, not after the minute.
 */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: FINAL_ERRORS },
});

/** Long waits heartbeat; a missed heartbeat (worker killed) re-runs the wait on another worker. */
export const waits = proxyActivities<Activities>({
  startToCloseTimeout: '12 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3, nonRetryableErrorTypes: FINAL_ERRORS },
});

/** Cleanup must finish: generous retries; keep-alive heartbeats as for `quick`. */
export const cleanup = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/**
 * A clone, restore or backup of a large database takes as long as it takes: the activity itself
 * fails (Stalled, final) once its progress stands still; 24 h is only a backstop, and the
 * heartbeat still catches a dead worker within 10 s.
 */
export const longRunning = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: FINAL_ERRORS },
});
