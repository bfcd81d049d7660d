/** Clients that keep querying while the cluster changes, counting every failure. */
import { Client } from 'pg';

export interface LoopStats {
  ok: number;
  failed: number;
  errors: string[];
  /** Server addresses (inet_server_addr) that answered. */
  servers: Set<string>;
}

export interface QueryLoop {
  stats: LoopStats;
  stop(): Promise<LoopStats>;
}

const QUERY = 'select inet_server_addr()::text as addr, pg_is_in_recovery() as rec';

/**
 * `reconnect: false` keeps one long-lived connection; `true` opens a new connection per query
 * (so it follows HAProxy's balancing and sees new members).
 */
export function startQueryLoop(connectionString: string, opts: { reconnect: boolean; intervalMs: number }): QueryLoop {
  const stats: LoopStats = { ok: 0, failed: 0, errors: [], servers: new Set() };
  let running = true;
  const fail = (err: unknown): void => {
    stats.failed++;
    if (stats.errors.length < 10) stats.errors.push((err as Error).message);
  };
  const loop = (async () => {
    let client: Client | undefined;
    while (running) {
      try {
        if (!client) {
          client = new Client({ connectionString, connectionTimeoutMillis: 5000 });
          client.on('error', (e) => fail(e));
          await client.connect();
        }
        const r = await client.query<{ addr: string }>(QUERY);
        stats.ok++;
        stats.servers.add(r.rows[0].addr.replace(/\/\d+$/, ''));
        if (opts.reconnect) {
          await client.end();
          client = undefined;
        }
      } catch (err) {
        fail(err);
        await client?.end().catch(() => undefined);
        client = undefined;
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    stats,
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}
