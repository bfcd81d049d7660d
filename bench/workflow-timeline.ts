/**
 * Where a workflow's time went: each completed activity with its start (seconds after the
 * workflow started) and duration, read from the workflow's history on the Temporal server the
 * CLI uses (TEMPORAL_ADDRESS). Repeated activity types get #2, #3.
 */
import { Client, Connection } from '@temporalio/client';
import { temporalConfig } from '../common/temporal-config';

export interface ActivitySpan {
  activity: string;
  startS: number;
  seconds: number;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

export async function activityTimeline(workflowId: string): Promise<ActivitySpan[]> {
  const cfg = temporalConfig();
  const connection = await Connection.connect({ address: cfg.address });
  try {
    const client = new Client({ connection, namespace: cfg.namespace });
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const t0 = ms(events[0]?.eventTime);
    const scheduled = new Map<string, { name: string; at: number }>();
    const seen = new Map<string, number>();
    const spans: ActivitySpan[] = [];
    for (const e of events) {
      const at = ms(e.eventTime) - t0;
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { name: s.activityType?.name ?? '?', at });
      const done = e.activityTaskCompletedEventAttributes;
      const from = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
      if (from) {
        const n = (seen.get(from.name) ?? 0) + 1;
        seen.set(from.name, n);
        spans.push({ activity: n === 1 ? from.name : `${from.name}#${n}`, startS: from.at / 1000, seconds: (at - from.at) / 1000 });
      }
    }
    return spans;
  } finally {
    await connection.close();
  }
}
