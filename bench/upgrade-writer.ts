/**
 * The writer of bench/upgrade: one connection inserting a row per transaction (a sequence number
 * from a bigserial) into `bench_ticks`, as fast as it is acknowledged plus a short pause, and
 * reconnecting after any failure. Unlike bench/ha-writer's, a query may wait as long as the server
 * (or a paused PgBouncer) holds it: that wait is the downtime a pooled client sees, not a failure.
 * The figure is client-side: the longest time between two consecutive acknowledged writes.
 */
import { Client } from 'pg';
import { now, pause } from './proc';

export const TICKS_TABLE = 'bench_ticks';
const CREATE_TICKS = `create table if not exists ${TICKS_TABLE} (id bigserial primary key, at timestamptz not null default clock_timestamp())`;
const INSERT = `insert into ${TICKS_TABLE} default values returning id`;

/** Pause after an acknowledged write, and before a retry after a failed one. */
const WRITE_INTERVAL_MS = 20;
const RETRY_MS = 100;
/** A connect that hangs this long is given up and tried again (HAProxy may hold one with no server up). */
const CONNECT_TIMEOUT_MS = 5000;
/** Only against a dead connection: PgBouncer's own query_wait_timeout is 120 s. */
const QUERY_TIMEOUT_MS = 130_000;

function client(uri: string): Client {
  const c = new Client({ connectionString: uri, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, application_name: 'bench-upgrade-writer' });
  c.on('error', () => undefined);
  return c;
}

/** Drop a client without waiting: end() on a connection to a stopped server can hang. */
const drop = (c: Client | undefined): void => void c?.end().catch(() => undefined);

/** Creates the writer's table through `uri` (set-up). */
export async function createTicksTable(uri: string): Promise<void> {
  const c = client(uri);
  try {
    await c.connect();
    await c.query(CREATE_TICKS);
  } finally {
    drop(c);
  }
}

/** How many of `ids` the table holds, read through `uri`. */
export async function countTicks(uri: string, ids: number[]): Promise<number> {
  const c = client(uri);
  try {
    await c.connect();
    const r = await c.query<{ n: number }>(`select count(*)::int as n from ${TICKS_TABLE} where id = any($1::bigint[])`, [ids]);
    return r.rows[0]?.n ?? 0;
  } finally {
    drop(c);
  }
}

export interface Ack {
  id: number;
  /** performance.now() when the commit was acknowledged. */
  at: number;
}

export interface Gap {
  /** Seconds between the two acknowledgements. */
  s: number;
  /** When the gap began and ended, seconds after the bench's reference moment (the upgrade's spawn). */
  fromS: number;
  toS: number;
}

export interface WriterFigures {
  acked: number;
  failed: number;
  /** The distinct errors, in order of first appearance, at most a few. */
  errors: string[];
  longestGap?: Gap;
}

export class TickWriter {
  readonly acks: Ack[] = [];
  readonly errors: { at: number; msg: string }[] = [];
  private stopped = false;
  private loop?: Promise<void>;

  constructor(private readonly uri: string) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let c: Client | undefined;
    while (!this.stopped) {
      try {
        if (!c) {
          c = client(this.uri);
          await c.connect();
        }
        const r = await c.query<{ id: string }>(INSERT);
        this.acks.push({ id: Number(r.rows[0]!.id), at: now() });
        await pause(WRITE_INTERVAL_MS);
      } catch (err) {
        this.errors.push({ at: now(), msg: (err as Error).message });
        drop(c);
        c = undefined;
        await pause(RETRY_MS);
      }
    }
    drop(c);
  }

  /** The longest time between two consecutive acknowledged writes, times relative to `t0`. */
  longestGap(t0: number): Gap | undefined {
    let best: Gap | undefined;
    for (let i = 1; i < this.acks.length; i++) {
      const s = (this.acks[i]!.at - this.acks[i - 1]!.at) / 1000;
      if (!best || s > best.s) best = { s, fromS: (this.acks[i - 1]!.at - t0) / 1000, toS: (this.acks[i]!.at - t0) / 1000 };
    }
    return best;
  }

  figures(t0: number): WriterFigures {
    const distinct = [...new Set(this.errors.map((e) => e.msg))];
    return { acked: this.acks.length, failed: this.errors.length, errors: distinct.slice(0, 4), longestGap: this.longestGap(t0) };
  }
}
