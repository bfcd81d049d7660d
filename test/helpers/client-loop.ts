/**
 * A Postgres client kept across steps while the cluster changes under it: a failed connect or
 * step is counted, drops the client, and the next step reconnects. Shared by the row writer
 * (writer.ts) and the query loops (query-loop.ts).
 */
import { Client } from 'pg';

export interface FailureTally {
  failed: number;
  /** The first few error messages. */
  errors: string[];
}

/** Count one failure, keeping the first 10 messages. */
export function countFailure(t: FailureTally, err: unknown): void {
  t.failed++;
  if (t.errors.length < 10) t.errors.push((err as Error).message);
}

export interface ClientLoopOptions {
  /** A new, not yet connected client, with its 'error' listener attached. */
  newClient(): Client;
  /** One step on the connected client; `true` when it closed the client itself (the next step reconnects). */
  step(c: Client): Promise<boolean>;
  onFailure(err: unknown): void;
  /** Pause after a step that succeeded, ms (none when undefined). */
  pauseAfterOkMs?: number;
  /** Pause after a failure, ms. */
  pauseAfterFailureMs: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function startClientLoop(o: ClientLoopOptions): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    let client: Client | undefined;
    while (running) {
      try {
        if (!client) {
          client = o.newClient();
          await client.connect();
        }
        if (await o.step(client)) client = undefined;
        if (o.pauseAfterOkMs !== undefined) await pause(o.pauseAfterOkMs);
      } catch (err) {
        o.onFailure(err);
        await client?.end().catch(() => undefined);
        client = undefined;
        await pause(o.pauseAfterFailureMs);
      }
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}
