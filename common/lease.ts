/**
 * The per-cluster operation lease: who may change a cluster now, and who waits. Pure code (the
 * ClusterLease workflow applies it to the signals it receives), so the rules are unit-tested.
 *
 * - One operation holds the lease at a time; the others queue in the order they asked.
 * - A child workflow whose parent holds the lease (scale-read-only's AddReplica children, a
 *   backup's restore drill, enable-backups' switchover) is granted at once: the parent is
 *   responsible for what its children do together.
 * - A delete goes first: queued operations are denied ("being deleted"), and so is everything
 *   asked while the delete waits or holds. It waits for the operation running now to end (its
 *   compensation included).
 * - A request that must not wait (`--no-wait`) is denied when anyone holds or waits.
 * - The lease is free again when every holder has released it, or has ended without releasing
 *   (found by the workflow's liveness check: a terminated workflow runs no `finally`).
 */

export interface LeaseRequest {
  /** Unique per acquisition: `<runId>:<cluster>:<n>` from the requesting workflow. */
  requestId: string;
  workflowId: string;
  runId: string;
  /** What the requester does, as users read it: `remove-replica`, `switchover`, `delete`. */
  operation: string;
  /** The requester's parent workflow, if any: granted at once when the parent holds the lease. */
  parentWorkflowId?: string;
  /** false: deny instead of queueing when the lease is taken (`--no-wait`, the watch's heals). */
  wait: boolean;
  /** A delete: deny the queued requests and go first. */
  preempt?: boolean;
  /** Workflow time of the request (ms since epoch). */
  at: number;
}

export interface LeaseHolder {
  requestId: string;
  workflowId: string;
  runId: string;
  operation: string;
  /** Granted under this parent (a child); undefined for the operation that took the lease. */
  parentWorkflowId?: string;
  preempt?: boolean;
  since: number;
}

export interface LeaseState {
  holders: LeaseHolder[];
  queue: LeaseRequest[];
}

export type DenyReason = 'busy' | 'deleting';

export interface LeaseDenial {
  request: LeaseRequest;
  reason: DenyReason;
  /** One line for the user. */
  message: string;
}

/** What the lease workflow must tell requesters after a change. */
export interface LeaseEffects {
  grant: LeaseHolder[];
  deny: LeaseDenial[];
}

export const emptyLease = (): LeaseState => ({ holders: [], queue: [] });

/** The line a waiting operation prints: `waiting for remove-replica (remove-replica:orders:pg-2) on orders`. */
export function waitingLine(holder: Pick<LeaseHolder, 'operation' | 'workflowId'>, cluster: string): string {
  return `waiting for ${holder.operation} (${holder.workflowId}) on ${cluster}`;
}

/** The operation users see as holding the lease: the one that took it, not its children. */
export function mainHolder(s: LeaseState): LeaseHolder | undefined {
  return s.holders.find((h) => h.parentWorkflowId === undefined || !s.holders.some((p) => p.workflowId === h.parentWorkflowId)) ?? s.holders[0];
}

function deleting(s: LeaseState): LeaseHolder | LeaseRequest | undefined {
  return s.holders.find((h) => h.preempt) ?? s.queue.find((q) => q.preempt);
}

function known(s: LeaseState, requestId: string): boolean {
  return s.holders.some((h) => h.requestId === requestId) || s.queue.some((q) => q.requestId === requestId);
}

function holderOf(r: LeaseRequest, at: number): LeaseHolder {
  return {
    requestId: r.requestId, workflowId: r.workflowId, runId: r.runId, operation: r.operation, since: at,
    ...(r.parentWorkflowId !== undefined ? { parentWorkflowId: r.parentWorkflowId } : {}),
    ...(r.preempt ? { preempt: true } : {}),
  };
}

/** A request arrives. Idempotent: a request already held or queued changes nothing. */
export function requestLease(s: LeaseState, r: LeaseRequest, cluster: string, now: number): { state: LeaseState; effects: LeaseEffects } {
  const none: LeaseEffects = { grant: [], deny: [] };
  if (known(s, r.requestId)) return { state: s, effects: none };
  if (r.parentWorkflowId !== undefined && s.holders.some((h) => h.workflowId === r.parentWorkflowId)) {
    const h = holderOf(r, now);
    return { state: { ...s, holders: [...s.holders, h] }, effects: { grant: [h], deny: [] } };
  }
  const del = deleting(s);
  if (del && !r.preempt) {
    return { state: s, effects: { grant: [], deny: [{ request: r, reason: 'deleting', message: `cluster ${cluster} is being deleted (${del.workflowId})` }] } };
  }
  if (r.preempt) {
    // Everything queued would only find a deleted cluster: tell them now.
    const denied = s.queue.map((q) => ({ request: q, reason: 'deleting' as const, message: `cluster ${cluster} is being deleted (${r.workflowId})` }));
    return grantNext({ holders: s.holders, queue: [r] }, now, denied);
  }
  const holder = mainHolder(s) ?? s.queue[0];
  if (!r.wait && holder) {
    return { state: s, effects: { grant: [], deny: [{ request: r, reason: 'busy', message: waitingLine(holder, cluster) }] } };
  }
  return grantNext({ ...s, queue: [...s.queue, r] }, now, []);
}

/** A holder releases, or a queued requester withdraws (cancelled while waiting). */
export function releaseLease(s: LeaseState, requestId: string, now: number): { state: LeaseState; effects: LeaseEffects } {
  return grantNext({ holders: s.holders.filter((h) => h.requestId !== requestId), queue: s.queue.filter((q) => q.requestId !== requestId) }, now, []);
}

/** Holders whose workflow run has ended (found by the liveness check) let go. */
export function dropEnded(s: LeaseState, endedRunIds: string[], now: number): { state: LeaseState; effects: LeaseEffects } {
  const ended = new Set(endedRunIds);
  return grantNext({ holders: s.holders.filter((h) => !ended.has(h.runId)), queue: s.queue.filter((q) => !ended.has(q.runId)) }, now, []);
}

function grantNext(s: LeaseState, now: number, deny: LeaseDenial[]): { state: LeaseState; effects: LeaseEffects } {
  if (s.holders.length > 0 || s.queue.length === 0) return { state: s, effects: { grant: [], deny } };
  const [next, ...rest] = s.queue;
  const h = holderOf(next, now);
  return { state: { holders: [h], queue: rest }, effects: { grant: [h], deny } };
}

/** The workflow id of a cluster's lease. Workflows on another task queue (tests) get their own. */
export function leaseWorkflowId(cluster: string, taskQueue: string, defaultTaskQueue: string): string {
  return taskQueue === defaultTaskQueue ? `cluster-lease:${cluster}` : `cluster-lease:${cluster}@${taskQueue}`;
}

/** What `cluster status` shows (and `--json` prints as `operation`, `queued`). */
export interface LeaseView {
  operation: { operation: string; workflowId: string; since: string } | null;
  queued: { operation: string; workflowId: string; since: string }[];
}

export function leaseView(s: LeaseState): LeaseView {
  const h = mainHolder(s);
  return {
    operation: h ? { operation: h.operation, workflowId: h.workflowId, since: new Date(h.since).toISOString() } : null,
    queued: s.queue.map((q) => ({ operation: q.operation, workflowId: q.workflowId, since: new Date(q.at).toISOString() })),
  };
}

/** The plan's step of waiting for the lease; the CLI recognises it to print who it waits for. */
export const leaseStep = (cluster: string): string => `wait for the operation lease on ${cluster}`;
export const isLeaseStep = (step: string): boolean => step.startsWith('wait for the operation lease on ');

/** Failure types of a refused lease (the CLI exits 1 with the message). */
export const LEASE_FAILURES = { busy: 'LeaseBusy', deleting: 'ClusterBeingDeleted' } as const;

/** A workflow started with this memo key true is refused instead of waiting (`--no-wait`). */
export const LEASE_NO_WAIT_MEMO = 'leaseNoWait';
