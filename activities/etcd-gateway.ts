/**
 * etcd's v3 JSON gateway (etcd 3.4 serves it on the client port): keys, values and leases travel
 * base64-encoded. With authentication enabled every call carries a token from
 * /v3/auth/authenticate; tokens are kept per member and user (each login costs etcd a bcrypt,
 * and the switchover polls every 50 ms), and fetched again when etcd says one expired.
 */

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** range_end for "every key under this prefix": the prefix with its last byte incremented. */
export function prefixRangeEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export interface EtcdUser {
  name: string;
  password: string;
}

/** The gateway's answer to a refused call: gRPC code and message (never an echo of the request). */
export class EtcdError extends Error {
  constructor(readonly httpStatus: number, readonly code: number | undefined, readonly etcdMessage: string, where: string) {
    super(`etcd ${where}: HTTP ${httpStatus} ${etcdMessage}`);
  }

  /** The call lacked a valid token: none sent to an etcd with authentication, or an expired one. */
  get needsToken(): boolean {
    return /user name is empty|invalid auth token/.test(this.etcdMessage);
  }

  /** etcd runs without authentication (the answer to a login then). */
  get authNotEnabled(): boolean {
    return /authentication is not enabled/.test(this.etcdMessage);
  }
}

/** Per member and user: a token, or null where etcd has no authentication. */
const tokens = new Map<string, string | null>();

async function post(endpoint: string, path: string, body: object, token?: string | null): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${endpoint}${path}`, {
    method: 'POST',
    headers: token ? { authorization: token } : {},
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new EtcdError(res.status, answer.code as number | undefined, String(answer.message ?? answer.error ?? ''), `${endpoint} ${path}`);
  return answer;
}

/** A token for the user, or null when this etcd has no authentication. Fails on a wrong password. */
export async function etcdLogin(endpoint: string, user: EtcdUser): Promise<string | null> {
  try {
    const r = await post(endpoint, '/v3/auth/authenticate', { name: user.name, password: user.password });
    return String(r.token);
  } catch (err) {
    if (err instanceof EtcdError && err.authNotEnabled) return null;
    throw err;
  }
}

/**
 * One gateway call (e.g. /v3/kv/range, /v3/lease/timetolive) to the etcd member at this address,
 * as `user` when given (etcd without authentication takes it too).
 */
export async function etcdPost(endpoint: string, path: string, body: object, user?: EtcdUser): Promise<Record<string, unknown>> {
  if (!user) return post(endpoint, path, body);
  const key = `${endpoint}\0${user.name}`;
  if (!tokens.has(key)) tokens.set(key, await etcdLogin(endpoint, user));
  try {
    return await post(endpoint, path, body, tokens.get(key));
  } catch (err) {
    if (!(err instanceof EtcdError && err.needsToken)) throw err;
    // Expired token, or authentication enabled since the last login.
    tokens.set(key, await etcdLogin(endpoint, user));
    return post(endpoint, path, body, tokens.get(key));
  }
}
