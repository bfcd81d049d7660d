/** `dbaas switchover NAME [--to MEMBER] [--at TIME]` and `dbaas switchover cancel NAME`. */
import {
  CancelledFailure, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle,
} from '@temporalio/client';
import { switchoverSnapshot } from '../../activities/switchover';
import { TASK_QUEUE } from '../../common/task-queues';
import { resolvePaths } from '../../common/paths';
import type { Progress } from '../../common/progress';
import { clusterNameKey } from '../../common/search-attributes';
import {
  chooseCandidate, sameRequest, scheduledWaitStep, switchoverWorkflowId,
  type SwitchoverInput, type SwitchoverMemo, type SwitchoverResult,
} from '../../common/switchover';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory, connectTemporal } from '../connections';
import { OperationError, UsageError } from '../errors';
import { follow, leaseMemo, refuseIfBusy } from '../workflow-run';

interface RunningSwitchover {
  workflowId: string;
  memo: SwitchoverMemo;
}

/** Running switchover workflows of the cluster (there is at most one unless two raced). */
async function runningSwitchovers(client: Client, cluster: string): Promise<RunningSwitchover[]> {
  const out: RunningSwitchover[] = [];
  const query = `WorkflowType = 'switchover' AND ClusterName = '${cluster}' AND ExecutionStatus = 'Running'`;
  for await (const w of client.workflow.list({ query })) {
    const m = (w.memo ?? {}) as Partial<SwitchoverMemo>;
    out.push({ workflowId: w.workflowId, memo: { to: m.to ?? null, at: m.at ?? null } });
  }
  return out;
}

function describeRequest(cluster: string, memo: SwitchoverMemo): string {
  return `switchover of ${cluster} to ${memo.to ?? 'the healthiest member'}${memo.at ? ` at ${memo.at}` : ''}`;
}

/** For --at: follow until the workflow checked the request and waits for its time (or ended, e.g. refused). */
async function followUntilScheduled(handle: WorkflowHandle, what: string, at: string): Promise<SwitchoverResult | 'scheduled'> {
  for (;;) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return follow<SwitchoverResult>(handle, what);
    const p = await handle.query<Progress>('progress').catch(() => undefined);
    const step = p?.steps.find((s) => s.name === scheduledWaitStep(at));
    if (step !== undefined && step.state !== 'pending') return 'scheduled';
    await new Promise((r) => setTimeout(r, 250));
  }
}

function printResult(r: SwitchoverResult): void {
  if (!r.changed) {
    console.log(`${r.leader} is already the leader of ${r.cluster}; nothing to do`);
    return;
  }
  console.log(`${r.cluster} switched over: ${r.from} → ${r.leader} (timeline ${r.timelineBefore} → ${r.timelineAfter}); ` +
    `${r.leader} holds the rw port, ${r.from} streams from it as a replica`);
}

export async function switchoverCommand(cluster: string, o: { to?: string; at?: string }): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const { client, connection } = await connectTemporal();
  try {
    let handle: WorkflowHandle | undefined;
    const running = await runningSwitchovers(client, cluster);
    const same = running.find((r) => sameRequest(r.memo, o.to, o.at));
    if (same) {
      console.log(`the ${describeRequest(cluster, same.memo)} is already running; following workflow ${same.workflowId}`);
      handle = client.workflow.getHandle(same.workflowId);
    } else if (running.length > 0) {
      throw new UsageError(`another ${describeRequest(cluster, running[0].memo)} is running (workflow ${running[0].workflowId}); wait for it or cancel it with \`dbaas switchover cancel ${cluster}\``);
    } else {
      // Refuse before starting anything (the workflow checks again: it is the authority).
      const snap = await switchoverSnapshot(inv, resolvePaths(), cluster);
      const d = chooseCandidate(snap, o.to);
      if (d.kind === 'refuse') throw new UsageError(d.reason);
      if (d.kind === 'already') {
        console.log(`${d.leader} is already the leader of ${cluster}; nothing to do`);
        return;
      }
      const id = switchoverWorkflowId(cluster, snap.timeline ?? 0);
      const input: SwitchoverInput = { cluster, ...(o.to ? { to: o.to } : {}), ...(o.at ? { at: o.at } : {}) };
      const memo: SwitchoverMemo = { to: o.to ?? null, at: o.at ?? null };
      // A scheduled one takes the lease when it fires; only a switchover now can be refused for it.
      if (!o.at) await refuseIfBusy(client, cluster);
      try {
        handle = await client.workflow.start('switchover', {
          workflowId: id, taskQueue: TASK_QUEUE, args: [input], memo: { ...memo, ...(o.at ? {} : leaseMemo()) },
          typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
        });
        const target = o.at && !o.to ? 'the healthiest member at that time' : d.candidate;
        console.log(`${o.at ? 'scheduling' : 'starting'} the switchover of ${cluster}: ${d.from} → ${target}${o.at ? ` at ${o.at}` : ''}: workflow ${id}`);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        console.log(`a switchover of ${cluster} is already running; following workflow ${id}`);
        handle = client.workflow.getHandle(id);
      }
    }
    if (o.at) {
      const r = await followUntilScheduled(handle, `switchover ${cluster}`, o.at);
      if (r === 'scheduled') {
        console.log(`switchover of ${cluster} scheduled at ${o.at}; dbaas runs it then, once no other operation holds ${cluster} (cancel with \`dbaas switchover cancel ${cluster}\`)`);
      } else printResult(r);
      return;
    }
    printResult(await follow<SwitchoverResult>(handle, `switchover ${cluster}`));
  } finally {
    await connection.close();
  }
}

export async function switchoverCancelCommand(cluster: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const { client, connection } = await connectTemporal();
  try {
    const running = await runningSwitchovers(client, cluster);
    const scheduled = running.find((r) => r.memo.at !== null);
    if (!scheduled) {
      if (running.length > 0) throw new UsageError(`the switchover of ${cluster} is not scheduled but under way; it cannot be cancelled`);
      throw new UsageError(`no switchover of ${cluster} is scheduled`);
    }
    const handle = client.workflow.getHandle(scheduled.workflowId);
    await handle.cancel();
    try {
      const r = (await handle.result()) as SwitchoverResult;
      throw new OperationError(`too late to cancel: the switchover had started; ${cluster} switched over to ${r.leader}`);
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
        console.log(`scheduled ${describeRequest(cluster, scheduled.memo)} cancelled; the leader stays where it was`);
        return;
      }
      throw err instanceof WorkflowFailedError ? new OperationError(`cancel failed: ${err.cause?.message ?? err.message}`) : err;
    }
  } finally {
    await connection.close();
  }
}
