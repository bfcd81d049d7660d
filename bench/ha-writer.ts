/**
 * The writer of bench/failover and bench/switchover: rows inserted through the cluster's HAProxy
 * rw host port over several connections plus a fresh connection every 100 ms, and the gaps
 * between acknowledged writes.
 */
import { Client } from 'pg';
import { fmt, secs } from './lib';
import type { HaCluster } from './ha-lib';
import { now, pause } from './proc';
import { DEFAULT_DATABASE, SUPERUSER } from '../common/service-users';

/** The writer: pause after a successful write, retry delay after a failed one. */
const WRITE_INTERVAL_MS = 50;
const WRITE_RETRY_MS = 100;
/** Short timeouts so a connection to a dead leader is given up quickly (HAProxy also cuts it). */
const WRITE_CONNECT_TIMEOUT_MS = 1000;
const WRITE_QUERY_TIMEOUT_MS = 1000;
const WRITES_TABLE = 'bench_ha_writes';

function pgClient(c: HaCluster, timeoutMs?: number): Client {
  const client = new Client({
    host: '127.0.0.1', port: c.ports.rw, user: SUPERUSER, database: DEFAULT_DATABASE, password: c.password,
    connectionTimeoutMillis: timeoutMs ?? WRITE_CONNECT_TIMEOUT_MS, query_timeout: timeoutMs ?? WRITE_QUERY_TIMEOUT_MS,
    statement_timeout: timeoutMs ?? WRITE_QUERY_TIMEOUT_MS, application_name: 'bench-ha-writer',
    ...(c.ca ? { ssl: { ca: c.ca } } : {}),
  });
  client.on('error', () => undefined);
  return client;
}

/** Drop a client without waiting: end() on a connection to a dead server can hang. */
function drop(client: Client | undefined): void {
  client?.end().catch(() => undefined);
}

const INSERT = `insert into ${WRITES_TABLE} (tag) values ($1) returning host(inet_server_addr()) as addr`;

/** Create the table if needed and write one row through rw; false on any error. */
export async function writeOnce(c: HaCluster): Promise<boolean> {
  const client = pgClient(c);
  try {
    await client.connect();
    await client.query(`create table if not exists ${WRITES_TABLE} (id bigserial primary key, at timestamptz not null default now(), tag text not null)`);
    await client.query(INSERT, ['health']);
    return true;
  } catch {
    return false;
  } finally {
    drop(client);
  }
}

export interface WriteOk {
  /** Which of the writer's connections made it (0-based), or PROBE. */
  conn: number;
  /** performance.now() when the attempt started and when the commit was acknowledged. */
  start: number;
  end: number;
  /** The server's address on the cluster network (inet_server_addr), i.e. which member took it. */
  addr: string;
}

/** Writer connections: each writes, waits WRITE_INTERVAL_MS, writes again on the same connection. */
export const WRITER_CONNECTIONS = 3;
/**
 * Besides them, a fresh connection starts a write every PROBE_EVERY_MS whatever the others do.
 * Connections that fail together (the old leader stops, HAProxy holds new ones ~1 s between its
 * retries) fall into the same 1 s timeout rhythm; the probes show within ~0.1 s when a *new*
 * connection can write again.
 */
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 2000;
/** `conn` of a write made by a probe. */
export const PROBE = -1;

/**
 * A client writing continuously through rw: WRITER_CONNECTIONS connections, each in its own loop
 * (a row, then WRITE_INTERVAL_MS, then the next row; when a write or a connect fails or takes over
 * ~1 s the connection is dropped and a fresh one is tried WRITE_RETRY_MS later, as an application
 * with a pool would), plus a one-shot connection every PROBE_EVERY_MS. All acknowledged writes
 * form one stream (`oks`, in order of acknowledgement).
 */
export class Writer {
  readonly oks: WriteOk[] = [];
  failures = 0;
  probeFailures = 0;
  lastError?: string;
  /** Failed attempts of the connections (not probes): when (performance.now()), which one, the error. */
  readonly errors: { t: number; conn: number; msg: string }[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private probes = new Set<Promise<void>>();

  constructor(private readonly c: HaCluster, private readonly tag: string, private readonly connections = WRITER_CONNECTIONS) {}

  start(): void {
    for (let i = 0; i < this.connections; i++) {
      const offset = (i * (WRITE_INTERVAL_MS + WRITE_RETRY_MS)) / this.connections;
      this.loops.push(pause(offset).then(() => this.run(i)));
    }
    this.loops.push(this.probeLoop());
  }

  private async probeLoop(): Promise<void> {
    while (!this.stopped) {
      const p = this.probe().finally(() => this.probes.delete(p));
      this.probes.add(p);
      await pause(PROBE_EVERY_MS);
    }
    await Promise.all([...this.probes]);
  }

  private async probe(): Promise<void> {
    const start = now();
    const client = pgClient(this.c, PROBE_TIMEOUT_MS);
    try {
      await client.connect();
      const r = await client.query<{ addr: string }>(INSERT, [`${this.tag}-probe`]);
      this.oks.push({ conn: PROBE, start, end: now(), addr: r.rows[0]?.addr ?? '' });
    } catch {
      this.probeFailures++;
    } finally {
      drop(client);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async run(conn: number): Promise<void> {
    let client: Client | undefined;
    while (!this.stopped) {
      const start = now();
      try {
        if (!client) {
          client = pgClient(this.c);
          await client.connect();
        }
        const r = await client.query<{ addr: string }>(INSERT, [this.tag]);
        this.oks.push({ conn, start, end: now(), addr: r.rows[0]?.addr ?? '' });
        await pause(WRITE_INTERVAL_MS);
      } catch (err) {
        this.failures++;
        this.lastError = (err as Error).message;
        this.errors.push({ t: now(), conn, msg: this.lastError });
        drop(client);
        client = undefined;
        await pause(WRITE_RETRY_MS);
      }
    }
    drop(client);
  }

  /** Failed attempts from `t0` on, condensed: "<s> c<conn> <error>" when a connection's error changes. */
  errorSummary(t0: number): string[] {
    const last = new Map<number, string>();
    const out: string[] = [];
    for (const e of this.errors) {
      if (e.t < t0 || last.get(e.conn) === e.msg) continue;
      last.set(e.conn, e.msg);
      out.push(`${fmt(secs(e.t - t0))} c${e.conn} ${e.msg}`);
    }
    return out;
  }

  /** The first write acknowledged that started at or after `t`. */
  firstStartedAfter(t: number, pred: (w: WriteOk) => boolean = () => true): WriteOk | undefined {
    return this.oks.find((w) => w.start >= t && pred(w));
  }

  /** Of connection `conn` only (0 .. WRITER_CONNECTIONS-1). */
  firstOfConnAfter(t: number, conn: number): WriteOk | undefined {
    return this.oks.find((w) => w.start >= t && w.conn === conn);
  }

  /** The last write acknowledged before `t`. */
  lastEndedBefore(t: number): WriteOk | undefined {
    return [...this.oks].reverse().find((w) => w.end < t);
  }

  /**
   * Longest time between two consecutive acknowledged writes where the later one ends after `t`:
   * of all connections together, or of connection `conn` alone.
   */
  maxGapAfter(t: number, conn?: number): { gap: number; from: number; to: number } | undefined {
    const oks = conn === undefined ? this.oks : this.oks.filter((w) => w.conn === conn);
    let best: { gap: number; from: number; to: number } | undefined;
    for (let i = 1; i < oks.length; i++) {
      if (oks[i].end < t) continue;
      const gap = oks[i].end - oks[i - 1].end;
      if (!best || gap > best.gap) best = { gap, from: oks[i - 1].end, to: oks[i].end };
    }
    return best;
  }
}
