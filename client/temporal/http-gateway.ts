/**
 * The CLI's Temporal over the HTTP API (./gateway.ts): what `backup run` and the other quick
 * operations need, without loading the SDK's gRPC client and protobufs.
 */
import { randomUUID } from 'node:crypto';
import { leaseWorkflowId } from '../../common/lease';
import { SEARCH_ATTRIBUTE_CLUSTER } from '../../common/search-attribute-name';
import { TASK_QUEUE } from '../../common/task-queues';
import { readLeaseOverHttp } from '../lease-http';
import { WorkflowAlreadyRunning, WorkflowRunFailed, type FollowedRun, type StartRequest, type WorkflowGateway } from './gateway';
import { errorOf, failureChain, firstPayloadValue, httpApi, jsonPayload, type HttpApi } from './http-api';

const CALL_TIMEOUT_MS = 10_000;
/** A query needs the worker to answer: one that does not within this is reported as failed (the watch polls again). */
const QUERY_TIMEOUT_MS = 5_000;
/** The server holds a history long-poll ~20 s and then answers with no event: this is only a bound on a dead connection. */
const LONG_POLL_TIMEOUT_MS = 70_000;
/** gRPC's ALREADY_EXISTS, as the gateway writes it. */
const ALREADY_EXISTS = 6;

interface CloseEvent {
  eventType?: string;
  workflowExecutionCompletedEventAttributes?: { result?: unknown };
  workflowExecutionFailedEventAttributes?: { failure?: Parameters<typeof failureChain>[0] };
  workflowExecutionTerminatedEventAttributes?: { reason?: string };
  workflowExecutionCanceledEventAttributes?: unknown;
  workflowExecutionTimedOutEventAttributes?: unknown;
}

export interface HttpGateway extends WorkflowGateway {
  /** The API answers for this namespace (false: nothing listens; the caller goes through gRPC). */
  reachable(): Promise<boolean>;
}

export function httpGateway(address: string, namespace: string): HttpGateway {
  const api = httpApi(address);
  const ns = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
  const workflowPath = (id: string): string => `${ns}/workflows/${encodeURIComponent(id)}`;

  const attach = (workflowId: string): FollowedRun => ({
    workflowId,
    nextChange: historyGrowth(api, workflowPath(workflowId)),
    query: async <T>(name: string): Promise<T> => {
      const a = await api.request('POST', `${workflowPath(workflowId)}/query/${encodeURIComponent(name)}?noPayloadShorthand`, QUERY_TIMEOUT_MS, {});
      if (a.status !== 200) throw new Error(`query ${name} of ${workflowId}: ${errorOf(a).message}`);
      return firstPayloadValue((a.body as { queryResult?: unknown }).queryResult) as T;
    },
    result: () => resultOf(api, workflowPath(workflowId)),
  });

  return {
    reachable: async () => {
      try {
        return (await api.request('GET', ns, CALL_TIMEOUT_MS)).status === 200;
      } catch {
        return false;
      }
    },
    attach,
    start: async (r: StartRequest) => {
      const memo = Object.fromEntries(Object.entries(r.memo).map(([k, v]) => [k, jsonPayload(v)]));
      const a = await api.request('POST', workflowPath(r.workflowId), CALL_TIMEOUT_MS, {
        workflowType: { name: r.workflowType },
        taskQueue: { name: r.taskQueue },
        input: { payloads: r.args.map((v) => jsonPayload(v)) },
        searchAttributes: { indexedFields: { [SEARCH_ATTRIBUTE_CLUSTER]: jsonPayload(r.cluster, 'Keyword') } },
        ...(Object.keys(memo).length > 0 ? { memo: { fields: memo } } : {}),
        requestId: randomUUID(),
        identity: `dbaas-cli@${process.pid}`,
      });
      if (a.status === 200) return attach(r.workflowId);
      const e = errorOf(a);
      if (e.code === ALREADY_EXISTS) throw new WorkflowAlreadyRunning(e.message);
      throw new Error(`starting workflow ${r.workflowId}: ${e.message}`);
    },
    isRunning: async (workflowId) => {
      const a = await api.request('GET', workflowPath(workflowId), CALL_TIMEOUT_MS);
      if (a.status === 404) return false;
      if (a.status !== 200) throw new Error(`describing workflow ${workflowId}: ${errorOf(a).message}`);
      return (a.body as { workflowExecutionInfo?: { status?: string } }).workflowExecutionInfo?.status === 'WORKFLOW_EXECUTION_STATUS_RUNNING';
    },
    readLease: (cluster) =>
      readLeaseOverHttp(address, namespace, leaseWorkflowId(cluster, TASK_QUEUE, TASK_QUEUE), (method, pathname, timeoutMs) => api.request(method, pathname, timeoutMs)),
    hasWorker: async (taskQueue) => {
      try {
        const a = await api.request('GET', `${ns}/task-queues/${encodeURIComponent(taskQueue)}?taskQueueType=TASK_QUEUE_TYPE_WORKFLOW`, CALL_TIMEOUT_MS);
        if (a.status !== 200) return undefined;
        return ((a.body as { pollers?: unknown[] | null }).pollers ?? []).length > 0;
      } catch {
        return undefined;
      }
    },
    close: async () => api.close(),
  };
}

/**
 * A run's history read page by page with the server's long-poll (waitNewEvent): each call
 * resolves when events beyond those already read arrive (at once while catching up). One request
 * at a time: a caller that stopped waiting for the last one gets it again.
 */
function historyGrowth(api: HttpApi, at: string): () => Promise<void> {
  let pageToken: string | undefined;
  let ended = false;
  let inFlight: Promise<void> | undefined;
  const read = async (): Promise<void> => {
    try {
      const params = new URLSearchParams({ waitNewEvent: 'true' });
      if (pageToken) params.set('nextPageToken', pageToken);
      const a = await api.request('GET', `${at}/history?${params.toString()}&noPayloadShorthand`, LONG_POLL_TIMEOUT_MS);
      if (a.status !== 200) throw new Error(errorOf(a).message);
      const body = a.body as { history?: { events?: unknown[] | null }; nextPageToken?: string };
      // No token: the history is complete (the run closed); the caller's result() tells the rest.
      pageToken = body.nextPageToken || undefined;
      ended = pageToken === undefined;
    } catch {
      // Not started yet, or the gateway closed (unref'd: it keeps no process alive).
      await new Promise((r) => setTimeout(r, 250).unref());
    } finally {
      inFlight = undefined;
    }
  };
  return () => {
    if (ended) return new Promise(() => undefined); // nothing will change; the result settles the follower
    inFlight ??= read();
    return inFlight;
  };
}

/** gRPC's UNAVAILABLE and DEADLINE_EXCEEDED, as the gateway writes them: a server restarting or busy. */
const TRANSIENT_CODES = new Set([4, 14]);
/** How long a follower keeps asking a server that does not answer (a restart takes seconds). */
const UNREACHABLE_FOR_MS = 180_000;
const RETRY_EVERY_MS = 1000;

/** Waits for the run's close event (history long-polls), following continue-as-new as the SDK does. */
async function resultOf(api: HttpApi, at: string): Promise<unknown> {
  let pageToken: string | undefined;
  let failingSince: number | undefined;
  const what = decodeURIComponent(at.split('/').pop() ?? '');
  for (;;) {
    const params = new URLSearchParams({ waitNewEvent: 'true', historyEventFilterType: 'HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT' });
    if (pageToken) params.set('nextPageToken', pageToken);
    let a: Awaited<ReturnType<HttpApi['request']>>;
    try {
      a = await api.request('GET', `${at}/history?${params.toString()}&noPayloadShorthand`, LONG_POLL_TIMEOUT_MS);
      const code = errorOf(a).code;
      if (a.status >= 500 || (code !== undefined && TRANSIENT_CODES.has(code))) throw new Error(errorOf(a).message); // caught below: asked again
      failingSince = undefined;
    } catch (err) {
      // The server restarting (refused, reset, unavailable): the workflow goes on; ask again, as the SDK's client does.
      failingSince ??= Date.now();
      if (Date.now() - failingSince > UNREACHABLE_FOR_MS) {
        throw new Error(`lost Temporal while following ${what} (${(err as Error).message}); the workflow goes on: see it in the Web UI`);
      }
      await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
      continue;
    }
    if (a.status !== 200) throw new Error(`waiting for ${what}: ${errorOf(a).message}`);
    const body = a.body as { history?: { events?: CloseEvent[] | null }; nextPageToken?: string };
    const event = body.history?.events?.[0];
    if (!event) {
      pageToken = body.nextPageToken || undefined;
      continue;
    }
    pageToken = undefined;
    switch (event.eventType) {
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED':
        return firstPayloadValue(event.workflowExecutionCompletedEventAttributes?.result);
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED':
        throw new WorkflowRunFailed('Workflow execution failed', { cause: failureChain(event.workflowExecutionFailedEventAttributes?.failure) });
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED':
        throw new WorkflowRunFailed('Workflow execution terminated', { cause: failureChain({ message: event.workflowExecutionTerminatedEventAttributes?.reason ?? 'terminated' }) });
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED':
        throw new WorkflowRunFailed('Workflow execution cancelled', { cause: failureChain({ message: 'cancelled' }) });
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT':
        throw new WorkflowRunFailed('Workflow execution timed out');
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
        continue; // the id's current run is the new one
      default:
        throw new Error(`unexpected close event ${event.eventType ?? '?'} of ${at}`);
    }
  }
}
