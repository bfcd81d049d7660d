/**
 * A member container's log lines from its host's engine (Docker's `timestamps`), running or
 * stopped: what it holds up to a moment, or a stream of what it writes after one.
 */
import { PassThrough } from 'node:stream';
import * as readline from 'node:readline';
import type { Inventory } from '../activities/hosts/inventory';
import { demux } from '../activities/docker';
import type { Member } from '../common/inventory';
import { parseDockerLine, type TimedLine } from '../common/log-lines';

/** Docker's `since`/`until`: seconds since the epoch with a fraction (microseconds here). */
export const dockerTime = (us: number): string => `${Math.floor(us / 1e6)}.${String(Math.floor(us % 1e6)).padStart(6, '0')}`;

function timedLines(text: string): TimedLine[] {
  return text.split('\n').flatMap((raw) => parseDockerLine(raw) ?? []);
}

/** The lines the container holds from `sinceUs` (all when absent) up to `untilUs`, oldest first. */
export async function readContainerLines(inv: Inventory, m: Member, o: { sinceUs?: number; untilUs: number }): Promise<TimedLine[]> {
  const out = await inv.engine(m.host).getContainer(m.container).logs({
    stdout: true, stderr: true, timestamps: true, follow: false,
    ...(o.sinceUs !== undefined ? { since: dockerTime(o.sinceUs) } : {}),
    until: dockerTime(o.untilUs),
  });
  // Members run without a TTY: stdout and stderr come framed, each frame one whole line.
  return timedLines(demux(out));
}

/**
 * Stream the lines the container writes after `afterUs` (Docker's `since` counts the moment itself:
 * that line was shown already) until it stops or `signal` aborts.
 */
export async function streamContainerLines(inv: Inventory, m: Member, afterUs: number, signal: AbortSignal, onLine: (l: TimedLine) => void): Promise<void> {
  const engine = inv.engine(m.host);
  const stream = await engine.getContainer(m.container).logs({ stdout: true, stderr: true, timestamps: true, follow: true, since: dockerTime(afterUs), abortSignal: signal });
  const lines = new PassThrough();
  engine.modem.demuxStream(stream, lines, lines);
  const ended = (): void => void lines.end();
  stream.on('end', ended);
  stream.on('close', ended);
  stream.on('error', ended);
  const stop = (): void => (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  try {
    for await (const raw of readline.createInterface({ input: lines, crlfDelay: Infinity })) {
      const l = parseDockerLine(raw);
      if (l && l.atUs > afterUs) onLine(l);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
