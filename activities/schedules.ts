/**
 * Backup schedules (Temporal Schedules, overlap SKIP). Used by the CLI with its own client and
 * by DeleteCluster's activity with the worker's client (the activity context's).
 */
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import type { BackupInput, BackupType } from '../common/backup';
import { TASK_QUEUE } from '../common/names';
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

/** The cron text as given (kept in the schedule's memo: the server stores it as calendar specs). */
function cronOf(d: ScheduleDescription): string {
  const cron = (d.memo as { cron?: unknown } | undefined)?.cron;
  return typeof cron === 'string' ? cron : '';
}

function verifyOf(d: ScheduleDescription): boolean {
  return (d.memo as { verify?: unknown } | undefined)?.verify === true;
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

/** Create the schedule, or update its cron when it exists (same cron: nothing changes). */
export async function upsertBackupSchedule(client: Client, cluster: string, type: BackupType, cron: string, verify = false): Promise<'created' | 'updated' | 'unchanged'> {
  const existing = await describeSchedule(client, scheduleIds.backup(cluster, type));
  if (existing) {
    if (cronOf(existing) === cron && verifyOf(existing) === verify) return 'unchanged';
    // The cron of record lives in the memo, which update() cannot change: replace the schedule.
    await client.schedule.getHandle(existing.scheduleId).delete();
  }
  await createSchedule(client, cluster, type, cron, verify);
  return existing ? 'updated' : 'created';
}

async function createSchedule(client: Client, cluster: string, type: BackupType, cron: string, verify: boolean): Promise<void> {
  const id = scheduleIds.backup(cluster, type);
  const input: BackupInput = { cluster, type, fromStandby: false, ...(verify ? { verifyAfter: true } : {}) };
  await client.schedule.create({
    scheduleId: id,
    spec: { cronExpressions: [cron] },
    action: {
      type: 'startWorkflow',
      workflowType: 'backup',
      taskQueue: TASK_QUEUE,
      workflowId: scheduleIds.backupWorkflowPrefix(cluster, type),
      args: [input],
      typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
    },
    // A backup still running when the next one is due: skip the new one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    memo: { cron, verify },
    typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
  });
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
