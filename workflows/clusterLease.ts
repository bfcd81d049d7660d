/**
 * ClusterLease: one entity workflow per cluster (id cluster-lease:<cluster>) that serializes the
 * operations changing it, after the mutex sample of Temporal's samples-typescript. Requests arrive
 * by signal-with-start (activities/lease.ts), answers go back to the requester by signal, and the
 * rules are common/lease.ts. It runs only while someone holds or waits, and ends when idle; a
 * holder that ended without releasing (terminated) is found by a liveness check every 15 s.
 */
import {
  ApplicationFailure, condition, continueAsNew, defineQuery, defineSignal, getExternalWorkflowHandle, log, proxyActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { clusterNameProblem } from '../common/spec';
import {
  dropEnded, emptyLease, releaseLease, requestLease, type DenyReason, type LeaseEffects, type LeaseRequest, type LeaseState,
} from '../common/lease';

export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
export const releaseLeaseSignal = defineSignal<[{ requestId: string }]>('releaseLease');

export interface LeaseAnswer {
  requestId: string;
  granted: boolean;
  reason?: DenyReason;
  message?: string;
  /**
   * false: granted as the request arrived (nothing held or waited for the cluster), so reads an
   * operation made while asking still hold; true: granted after another operation let go. Absent
   * in answers of lease workflows older than the field (read as true).
   */
  waited?: boolean;
}
/** Sent to the requester. */
export const leaseAnswerSignal = defineSignal<[LeaseAnswer]>('leaseAnswer');
export const leaseStateQuery = defineQuery<LeaseState>('leaseState');

export interface ClusterLeaseInput {
  cluster: string;
  /** Handed over by continue-as-new. */
  carry?: LeaseState;
  /** How often holders are checked for having ended without releasing (tests shorten it). */
  checkEveryMs?: number;
}

const LIVENESS_CHECK_MS = 15_000;
/** Well under Temporal's limits; a 6-hour backup adds about 10 events per check. */
const MAX_HISTORY_EVENTS = 4000;

const act = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

export async function clusterLease(input: ClusterLeaseInput): Promise<{ cluster: string; reason: string }> {
  const { cluster } = input;
  const problem = clusterNameProblem(String(cluster));
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
  let state = input.carry ?? emptyLease();
  /** `arrived`: the request whose arrival made these effects (its grant came without a wait). */
  const outbox: (LeaseEffects & { arrived?: string })[] = [];
  const apply = (r: { state: LeaseState; effects: LeaseEffects }, arrived?: string): void => {
    state = r.state;
    if (r.effects.grant.length + r.effects.deny.length > 0) outbox.push({ ...r.effects, ...(arrived ? { arrived } : {}) });
  };
  setHandler(requestLeaseSignal, (r) => apply(requestLease(state, r, cluster, Date.now()), r.requestId));
  setHandler(releaseLeaseSignal, ({ requestId }) => apply(releaseLease(state, requestId, Date.now())));
  setHandler(leaseStateQuery, () => state);

  const answer = (to: { workflowId: string; runId: string }, a: LeaseAnswer): Promise<void> =>
    getExternalWorkflowHandle(to.workflowId, to.runId).signal(leaseAnswerSignal, a);

  const idle = (): boolean => state.holders.length === 0 && state.queue.length === 0;
  for (;;) {
    while (outbox.length > 0) {
      const e = outbox.shift()!;
      for (const d of e.deny) {
        await answer(d.request, { requestId: d.request.requestId, granted: false, reason: d.reason, message: d.message }).catch(() => undefined);
      }
      for (const h of e.grant) {
        try {
          await answer(h, { requestId: h.requestId, granted: true, waited: e.arrived !== h.requestId });
        } catch {
          // The requester is gone (ended while it waited): the next in line gets the lease.
          log.warn('lease requester gone before its grant', { workflowId: h.workflowId, operation: h.operation });
          apply(releaseLease(state, h.requestId, Date.now()));
        }
      }
    }
    if (idle()) return { cluster, reason: 'idle' };
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof clusterLease>({ ...input, carry: state });
    }
    const changed = await condition(() => outbox.length > 0 || idle(), input.checkEveryMs ?? LIVENESS_CHECK_MS);
    if (!changed) {
      const runs = [...state.holders, ...state.queue].map((r) => ({ workflowId: r.workflowId, runId: r.runId }));
      const ended = await act.endedWorkflowRuns(runs);
      if (ended.length > 0) {
        log.warn('lease holders ended without releasing', { ended });
        apply(dropEnded(state, ended, Date.now()));
      }
    }
  }
}
