/**
 * A numbered-row writer for durability tests and benchmarks: inserts rows with increasing ids
 * through one endpoint (autocommit, one statement at a time) and records each id whose COMMIT
 * returned, with the time it returned. Errors (the leader gone, a timeout) reconnect and go on
 * with the next id; an id whose COMMIT did not return is not recorded (it may or may not exist).
 */
import { Client } from 'pg';
import { countFailure, startClientLoop } from './client-loop';

export interface WriterOptions {
  connectionString: string;
  /** Table with an `id bigint primary key` column (see createWriterTable). */
  table: string;
  /** First id to write (default 1). */
  firstId?: number;
  /** Pause between inserts, ms (default 0: as fast as one connection commits). */
  pauseMs?: number;
  /** A COMMIT that has not returned after this long counts as failed, ms (default 5000). */
  queryTimeoutMs?: number;
  /**
   * A new connection for every insert (default false: one connection, renewed after a failure).
   * Each write then goes wherever the endpoint routes a new client at that moment.
   */
  reconnectEachWrite?: boolean;
}

export interface WriterStats {
  /** Ids whose COMMIT returned, in order. */
  acked: number[];
  /** Date.now() when each acked COMMIT returned (same order as acked). */
  ackedAt: number[];
  /** Inserts that failed or timed out (their ids are not in acked). */
  failed: number;
  /** The first few error messages. */
  errors: string[];
  /** Every failed insert (or connect): when it failed and why. */
  failures: { at: number; error: string }[];
}

export interface Writer {
  stats: WriterStats;
  /** Resolves once `count` COMMITs have returned after `sinceMs` (Date.now() value). */
  waitForAcks(count: number, sinceMs: number, timeoutMs: number): Promise<void>;
  /** The last id handed to an insert (whether or not its COMMIT returned); firstId - 1 before the first. */
  lastIssuedId(): number;
  stop(): Promise<WriterStats>;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function checkTable(table: string): string {
  if (!IDENT.test(table)) throw new Error(`writer table must be a plain lowercase identifier, got "${table}"`);
  return table;
}

export async function createWriterTable(connectionString: string, table: string): Promise<void> {
  const c = new Client({ connectionString, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(`create table if not exists ${checkTable(table)} (id bigint primary key, at timestamptz not null default clock_timestamp())`);
  } finally {
    await c.end();
  }
}

export function startWriter(o: WriterOptions): Writer {
  const table = checkTable(o.table);
  const stats: WriterStats = { acked: [], ackedAt: [], failed: 0, errors: [], failures: [] };
  let next = o.firstId ?? 1;
  const loop = startClientLoop({
    newClient: () => {
      const c = new Client({ connectionString: o.connectionString, connectionTimeoutMillis: 2000, query_timeout: o.queryTimeoutMs ?? 5000 });
      // A dropped connection also emits 'error'; the failing query is what counts.
      c.on('error', () => undefined);
      return c;
    },
    step: async (client) => {
      const id = next++;
      await client.query(`insert into ${table} (id) values ($1)`, [id]);
      stats.acked.push(id);
      stats.ackedAt.push(Date.now());
      if (!o.reconnectEachWrite) return false;
      await client.end();
      return true;
    },
    onFailure: (err) => {
      countFailure(stats, err);
      stats.failures.push({ at: Date.now(), error: (err as Error).message });
    },
    pauseAfterOkMs: o.pauseMs || undefined,
    pauseAfterFailureMs: 100,
  });
  return {
    stats,
    async waitForAcks(count, sinceMs, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (stats.ackedAt.filter((t) => t > sinceMs).length < count) {
        if (Date.now() > deadline) {
          throw new Error(`writer: fewer than ${count} commits since ${new Date(sinceMs).toISOString()} (last errors: ${stats.errors.slice(-3).join('; ')})`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    lastIssuedId: () => next - 1,
    async stop() {
      await loop.stop();
      return stats;
    },
  };
}

/** The acked ids that the server behind connectionString does not have. */
export async function missingIds(connectionString: string, table: string, acked: number[]): Promise<number[]> {
  const c = new Client({ connectionString, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    const r = await c.query<{ id: string }>(`select id from ${checkTable(table)} where id = any($1::bigint[])`, [acked]);
    const have = new Set(r.rows.map((x) => Number(x.id)));
    return acked.filter((id) => !have.has(id));
  } finally {
    await c.end();
  }
}

/**
 * The write outage around an event at `sinceMs` (e.g. the leader killed): the longest pause
 * between two consecutive COMMITs where the later one returned after sinceMs. `resumedMs` is
 * from the event to the COMMIT that ended that pause (the client-visible failover time).
 */
export function writeOutage(stats: WriterStats, sinceMs: number): { gapMs: number; resumedMs: number } | undefined {
  let best: { gapMs: number; resumedMs: number } | undefined;
  for (let k = 1; k < stats.ackedAt.length; k++) {
    const [a, b] = [stats.ackedAt[k - 1], stats.ackedAt[k]];
    if (b <= sinceMs) continue;
    if (!best || b - a > best.gapMs) best = { gapMs: b - a, resumedMs: b - sinceMs };
  }
  return best;
}
