/**
 * Keep-alive heartbeats for short activities. A Docker create or a config PATCH does not
 * heartbeat on its own, so without this a worker killed in the middle of one left its step
 * stalled for the whole start-to-close timeout (1 minute for `quick`, 5 for `cleanup`) before
 * Temporal retried it elsewhere. With a heartbeat every few seconds and a heartbeat timeout of
 * 10 s, the step is retried within about 10 s of the kill.
 *
 * Only activities whose start-to-close is short get it: there the timeout already bounds a hang,
 * and the heartbeat only proves the worker process is alive. Long waits and backups keep
 * heartbeating themselves, from their poll loops, so a wait stuck on one probe still times out.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptors, Next, WorkerOptions } from '@temporalio/worker';
import { lastHeartbeatDetail } from '../activities/heartbeat';

/** Activities with a start-to-close up to this get keep-alive heartbeats (the `quick` and `cleanup` options). */
export const KEEP_ALIVE_MAX_START_TO_CLOSE_MS = 5 * 60_000;
export const KEEP_ALIVE_INTERVAL_MS = 2_000;

class KeepAlive implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { heartbeatTimeoutMs, startToCloseTimeoutMs } = this.ctx.info;
    if (!heartbeatTimeoutMs || startToCloseTimeoutMs > KEEP_ALIVE_MAX_START_TO_CLOSE_MS) return next(input);
    const beat = () => this.ctx.heartbeat(lastHeartbeatDetail(this.ctx));
    const timer = setInterval(beat, KEEP_ALIVE_INTERVAL_MS);
    try {
      return await next(input);
    } finally {
      clearInterval(timer);
    }
  }
}

function keepAliveInterceptors(ctx: Context): ActivityInterceptors {
  return { inbound: new KeepAlive(ctx) };
}

/** Spread into Worker.create's options by every worker that runs activities (the real one and the tests'). */
export const keepAliveOptions: Pick<WorkerOptions, 'interceptors'> = { interceptors: { activity: [keepAliveInterceptors] } };
