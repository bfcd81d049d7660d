/**
 * Backup schedules (Temporal Schedules, overlap SKIP). Used by the CLI with its own client and
 * by DeleteCluster's activity with the worker's client (the activity context's).
 */
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleUpdateOptions } from '@temporalio/client';
import type { BackupInput, BackupType } from '../common/backup';
import { TASK_QUEUE } from '../common/task-queues';
import { scheduleIds, type BackupScheduleView } from '../common/schedules';
import { clusterNameKey } from '../common/search-attributes';

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The cron text as given. The server keeps a cron only as calendar specs, so the text rides in
 * the action's workflow memo, which update() can change (the schedule's own memo cannot be
 * updated); schedules made before that keep it in the schedule's memo.
 */
function cronOf(d: ScheduleDescription): string {
  const cron = (d.action.memo as { cron?: unknown } | undefined)?.cron ?? (d.memo as { cron?: unknown } | undefined)?.cron;
  return typeof cron === 'string' ? cron : '';
}

/** Whether each backup is followed by a restore drill: the Backup workflow's own input says so. */
function verifyOf(d: ScheduleDescription): boolean {
  return (d.action.args?.[0] as Partial<BackupInput> | undefined)?.verifyAfter === true;
}

function view(cluster: string, type: BackupType, d: ScheduleDescription): BackupScheduleView {
  return {
    id: d.scheduleId,
    cluster,
    type,
    cron: cronOf(d),
    paused: d.state.paused,
    verifyAfter: verifyOf(d),
    ...(d.state.note ? { note: d.state.note } : {}),
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.slice(-5).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
    })),
  };
}

export async function listBackupSchedules(client: Client, cluster: string): Promise<BackupScheduleView[]> {
  const out: BackupScheduleView[] = [];
  for (const type of ['full', 'diff', 'incr'] as const) {
    const d = await describeSchedule(client, scheduleIds.backup(cluster, type));
    if (d) out.push(view(cluster, type, d));
  }
  return out;
}

/** The server refused the schedule's spec (e.g. a cron field it cannot read); nothing was changed. */
export class ScheduleSpecRefused extends Error {}

/**
 * How late a missed backup may still run. The server starts the runs it missed while it was down
 * when it comes back, if they are no older than this: hours, so a restart or an outage of the
 * Temporal server during the night still gets the nightly backup (the one minute this used
 * to be dropped it). Not days: a backup long overdue competes with the day's load,
 * and the next regular run is then near anyway. With overlap SKIP, at most one runs at a time.
 */
export const BACKUP_CATCHUP_WINDOW_MS = 6 * 3600_000;

/** The schedule's parts that `backup schedule` sets; the same for create and update. */
function scheduleBody(cluster: string, type: BackupType, cron: string, verify: boolean): Omit<ScheduleUpdateOptions, 'state'> {
  const input: BackupInput = { cluster, type, fromStandby: false, ...(verify ? { verifyAfter: true } : {}) };
  return {
    spec: { cronExpressions: [cron] },
    action: {
      type: 'startWorkflow',
      workflowType: 'backup',
      taskQueue: TASK_QUEUE,
      workflowId: scheduleIds.backupWorkflowPrefix(cluster, type),
      args: [input],
      memo: { cron },
      typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
    },
    // A backup still running when the next one is due: skip the new one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: BACKUP_CATCHUP_WINDOW_MS },
    typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
  };
}

/** The SDK turns the server's "Invalid schedule spec" into a TypeError. */
async function refusingBadSpecs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TypeError) throw new ScheduleSpecRefused(err.message.split('\n')[0]);
    throw err;
  }
}

/**
 * Create the schedule, or update the existing one in place (same id, history and creation time;
 * its paused state and note are kept). Same cron and verify: nothing changes (unless the schedule
 * predates the current catch-up window). A spec the server refuses changes nothing either.
 */
export async function upsertBackupSchedule(client: Client, cluster: string, type: BackupType, cron: string, verify = false): Promise<'created' | 'updated' | 'unchanged'> {
  const id = scheduleIds.backup(cluster, type);
  const existing = await describeSchedule(client, id);
  const body = scheduleBody(cluster, type, cron, verify);
  if (!existing) {
    await refusingBadSpecs(() => client.schedule.create({ scheduleId: id, ...body }));
    return 'created';
  }
  const same = cronOf(existing) === cron && verifyOf(existing) === verify && existing.policies.catchupWindow === BACKUP_CATCHUP_WINDOW_MS;
  if (same) return 'unchanged';
  await refusingBadSpecs(() => client.schedule.getHandle(id).update((current) => ({
    ...body,
    state: { paused: current.state.paused, ...(current.state.note ? { note: current.state.note } : {}) },
  })));
  return 'updated';
}

/** Delete every backup schedule of the cluster. Idempotent. */
export async function deleteBackupSchedules(client: Client, cluster: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const id of scheduleIds.all(cluster)) {
    try {
      await client.schedule.getHandle(id).delete();
      deleted.push(id);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return deleted;
}

export function createScheduleActivities() {
  return {
    /** DeleteCluster: a deleted cluster's schedules would only start failing backups. */
    async deleteClusterBackupSchedules(cluster: string): Promise<string[]> {
      return deleteBackupSchedules(Context.current().client, cluster);
    },
  };
}
