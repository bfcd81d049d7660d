/**
 * What the CLI needs of Temporal to run an operation: start its workflow (or find it running),
 * query its progress, wait for its result, read a cluster's lease. Two backends, as Patroni has
 * one DCS per store: Temporal's HTTP API (./http-gateway.ts: plain JSON over node:http, nothing
 * heavy to load) and the SDK's gRPC client (./grpc-gateway.ts: ~0.3 s of CPU to load its
 * protobufs, for servers without an HTTP API). ./connect.ts picks one.
 */
import type { LeaseView } from '../../common/lease';

/** A workflow run the CLI follows. The SDK's WorkflowHandle is one. */
export interface FollowedRun {
  readonly workflowId: string;
  query<T>(name: string): Promise<T>;
  /** The run's result; rejects with the run's failure (WorkflowRunFailed, or the SDK's WorkflowFailedError). */
  result(): Promise<unknown>;
  /**
   * Resolves when the run's history grows (every step's start and end is a workflow task, so a
   * new event): a follower queries then instead of polling. Absent: the follower polls.
   */
  nextChange?(): Promise<void>;
}

export interface StartRequest {
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: unknown[];
  /** The cluster the operation is on: the ClusterName search attribute. */
  cluster: string;
  memo: Record<string, unknown>;
}

export interface WorkflowGateway<R extends FollowedRun = FollowedRun> {
  /** Starts the workflow; throws WorkflowAlreadyRunning when a run with this id is running. */
  start(request: StartRequest): Promise<R>;
  /** The run going under this id (no call made). */
  attach(workflowId: string): R;
  isRunning(workflowId: string): Promise<boolean>;
  /** The cluster's operation lease; null when Temporal or its worker does not answer in time. */
  readLease(cluster: string): Promise<LeaseView | null>;
  /** Whether a worker polls the task queue's workflow tasks; undefined when that could not be read. */
  hasWorker(taskQueue: string): Promise<boolean | undefined>;
  close(): Promise<void>;
}

export class WorkflowAlreadyRunning extends Error {
  override name = 'WorkflowAlreadyRunning';
}

/**
 * A run that ended without a result, with the failure's chain as `cause`s: each with its message
 * and, for an ApplicationFailure, its `type` (what common/error-chain.ts reads). The SDK's
 * WorkflowFailedError has the same shape.
 */
export class WorkflowRunFailed extends Error {
  override name = 'WorkflowRunFailed';
}

export class FailureCause extends Error {
  override name = 'FailureCause';
  constructor(message: string, readonly type: string | undefined, cause?: Error) {
    super(message, cause ? { cause } : undefined);
  }
}

/** Both backends' failed runs (matched by name: the SDK's class is not loaded on the HTTP path). */
export function isWorkflowRunFailure(err: unknown): err is Error {
  return err instanceof Error && (err.name === 'WorkflowRunFailed' || err.name === 'WorkflowFailedError');
}
