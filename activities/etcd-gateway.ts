/** etcd's v3 JSON gateway (etcd 3.4 serves it on the client port): keys, values and leases travel base64-encoded. */
import { ETCD_CLIENT_PORT } from '../common/names';

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** range_end for "every key under this prefix": the prefix with its last byte incremented. */
export function prefixRangeEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** One gateway call (e.g. /v3/kv/range, /v3/lease/timetolive) to the etcd member at this address. */
export async function etcdPost(ip: string, path: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${ip}:${ETCD_CLIENT_PORT}${path}`, {
    method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(3000),
  });
  if (!res.ok) throw new Error(`etcd ${ip} ${path}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
