/**
 * The cluster's operation lease read over Temporal's HTTP API (the frontend's JSON gateway):
 * `cluster status` asks two small questions (is the lease workflow running, what does it hold),
 * and gRPC with its protobufs costs ~0.4 s of CPU to load on a 2-core machine, competing with the
 * status's own Docker and Patroni reads. The dev server listens on a fixed HTTP port
 * (common/temporal-config.ts); elsewhere TEMPORAL_HTTP_ADDRESS names one, or the caller reads
 * through gRPC (./lease.ts).
 */
import { leaseView, type LeaseHolder, type LeaseState, type LeaseView } from '../common/lease';
import { HttpApiUnreachable, requestOnce, type HttpAnswer } from './temporal/http-api';

export { HttpApiUnreachable } from './temporal/http-api';

/** A query needs a worker; without one the answer would never come (as ./lease.ts). */
const QUERY_TIMEOUT_MS = 3000;
const DESCRIBE_TIMEOUT_MS = 2000;

const NO_OPERATION: LeaseView = { operation: null, queued: [] };

type Request = (method: 'GET' | 'POST', pathname: string, timeoutMs: number) => Promise<HttpAnswer>;

/**
 * A query's answer: the gateway writes a JSON payload as its value (payload shorthand), or as
 * `{payloads: [{metadata, data: base64}]}` when asked for the long form.
 */
export function leaseStateFromQueryResult(result: unknown): LeaseState {
  const first = Array.isArray(result)
    ? result[0]
    : (() => {
      const p = (result as { payloads?: { data?: string }[] } | null)?.payloads?.[0]?.data;
      return p === undefined ? undefined : JSON.parse(Buffer.from(p, 'base64').toString('utf8'));
    })();
  const s = (first ?? {}) as { holders?: LeaseHolder[] | null; queue?: LeaseState['queue'] | null };
  // Empty lists come back as null through the gateway.
  return { holders: s.holders ?? [], queue: s.queue ?? [] };
}

/** The lease; null when Temporal or its worker does not answer in time. Throws HttpApiUnreachable when nothing listens. */
export async function readLeaseOverHttp(httpAddress: string, namespace: string, workflowId: string, via?: Request): Promise<LeaseView | null> {
  const request: Request = via ?? ((method, pathname, timeoutMs) => requestOnce(httpAddress, method, pathname, timeoutMs));
  const at = `/api/v1/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  const described = await request('GET', at, DESCRIBE_TIMEOUT_MS);
  // The lease workflow runs only while someone holds or waits.
  if (described.status === 404) return NO_OPERATION;
  if (described.status !== 200) return null;
  const status = (described.body as { workflowExecutionInfo?: { status?: string } }).workflowExecutionInfo?.status;
  if (status !== 'WORKFLOW_EXECUTION_STATUS_RUNNING') return NO_OPERATION;
  try {
    const queried = await request('POST', `${at}/query/leaseState`, QUERY_TIMEOUT_MS);
    if (queried.status !== 200) return null;
    return leaseView(leaseStateFromQueryResult((queried.body as { queryResult?: unknown }).queryResult));
  } catch (err) {
    if (err instanceof HttpApiUnreachable) throw err;
    return null;
  }
}
