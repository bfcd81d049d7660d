/**
 * Temporal's HTTP API (the frontend's JSON gateway, `/api/v1/...`): requests, and payloads and
 * failures in their long form. Payloads are sent and read as `{metadata, data: base64}` (the
 * `noPayloadShorthand` form): the shorthand turns an empty list inside a value into null.
 */
import * as http from 'node:http';
import { FailureCause } from './gateway';

/** Nothing listens at the HTTP address: the caller may go through gRPC instead. */
export class HttpApiUnreachable extends Error {
  override name = 'HttpApiUnreachable';
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

export interface HttpApi {
  request(method: 'GET' | 'POST', pathname: string, timeoutMs: number, body?: unknown): Promise<HttpAnswer>;
  close(): void;
}

/** One keep-alive connection reused by a command's calls (the watch queries four times a second). */
export function httpApi(address: string): HttpApi {
  const base = new URL(`http://${address}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    request: (method, pathname, timeoutMs, body) => request(base, agent, method, pathname, timeoutMs, body),
    close: () => agent.destroy(),
  };
}

function request(base: URL, agent: http.Agent | undefined, method: 'GET' | 'POST', pathname: string, timeoutMs: number, body?: unknown): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const options = { host: base.hostname, port: base.port, method, path: pathname, timeout: timeoutMs, agent, headers: { 'content-type': 'application/json' } };
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
        } catch {
          reject(new Error(`Temporal's HTTP API answered ${res.statusCode} with no JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNREFUSED' ? new HttpApiUnreachable(err.message) : err));
    req.end(method === 'POST' ? JSON.stringify(body ?? {}) : undefined);
  });
}

/** A one-off request (no connection kept). */
export function requestOnce(address: string, method: 'GET' | 'POST', pathname: string, timeoutMs: number, body?: unknown): Promise<HttpAnswer> {
  return request(new URL(`http://${address}`), undefined, method, pathname, timeoutMs, body);
}

export interface Payload {
  metadata?: Record<string, string>;
  data?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** A value as the SDK's default converter writes it (json/plain). */
export function jsonPayload(value: unknown, searchAttributeType?: string): Payload {
  return {
    metadata: { encoding: b64('json/plain'), ...(searchAttributeType ? { type: b64(searchAttributeType) } : {}) },
    data: b64(JSON.stringify(value)),
  };
}

/** A payload's value: json/plain parsed, binary/null as undefined (the SDK's converter's two encodings for plain values). */
export function payloadValue(p: Payload | undefined): unknown {
  if (!p) return undefined;
  const encoding = unb64(p.metadata?.encoding);
  if (encoding === 'binary/null') return undefined;
  if (encoding !== 'json/plain') throw new Error(`a payload encoded as ${encoding || 'nothing'} (only json/plain is read here)`);
  return JSON.parse(unb64(p.data));
}

/** The first value of a Payloads message (`{payloads: [...]}`). */
export function firstPayloadValue(payloads: unknown): unknown {
  return payloadValue((payloads as { payloads?: Payload[] } | null | undefined)?.payloads?.[0]);
}

interface FailureJson {
  message?: string;
  cause?: FailureJson;
  applicationFailureInfo?: { type?: string };
}

/** A Failure message (the workflow's, an activity's, ...) as a chain of Errors with the ApplicationFailure types. */
export function failureChain(f: FailureJson | undefined): FailureCause | undefined {
  if (!f) return undefined;
  return new FailureCause(f.message ?? '', f.applicationFailureInfo?.type, failureChain(f.cause));
}

/** The `code` and `message` of an error answer (gRPC status as JSON). */
export function errorOf(answer: HttpAnswer): { code?: number; message: string } {
  const b = (answer.body ?? {}) as { code?: number; message?: string };
  return { code: b.code, message: b.message ?? `HTTP ${answer.status}` };
}
