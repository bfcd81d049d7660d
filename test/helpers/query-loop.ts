/** Clients that keep querying while the cluster changes, counting every failure. */
import { Client } from 'pg';
import { countFailure, startClientLoop } from './client-loop';

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
  const fail = (err: unknown): void => countFailure(stats, err);
  const loop = startClientLoop({
    newClient: () => {
      const c = new Client({ connectionString, connectionTimeoutMillis: 5000 });
      c.on('error', (e) => fail(e));
      return c;
    },
    step: async (client) => {
      const r = await client.query<{ addr: string }>(QUERY);
      stats.ok++;
      stats.servers.add(r.rows[0].addr.replace(/\/\d+$/, ''));
      if (!opts.reconnect) return false;
      await client.end();
      return true;
    },
    onFailure: fail,
    pauseAfterOkMs: opts.intervalMs,
    pauseAfterFailureMs: opts.intervalMs,
  });
  return {
    stats,
    async stop() {
      await loop.stop();
      return stats;
    },
  };
}
