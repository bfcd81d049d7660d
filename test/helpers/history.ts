/** A workflow's full history as searchable text, payloads decoded (they are base64 in JSON). */
import type { WorkflowHandle } from '@temporalio/client';

export async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  const decoded: string[] = [];
  const json = JSON.stringify(history, (_k, v: unknown) => {
    if (v instanceof Uint8Array) {
      const s = Buffer.from(v).toString('utf8');
      decoded.push(s);
      return s;
    }
    if (typeof v === 'bigint') return String(v);
    return v;
  });
  return `${json}\n${decoded.join('\n')}`;
}
