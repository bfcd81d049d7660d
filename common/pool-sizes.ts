/**
 * PgBouncer's pool sizes, derived from the connection slots of the servers its pools land on.
 * Pure: the create workflow sizes the poolers from the member size, the pooler activity from what
 * the leader runs.
 *
 * Where the pools land: pgbouncer-rw dials HAProxy rw, which sends every server connection to the
 * leader; pgbouncer-ro dials HAProxy ro, round robin over the replicas (never the leader), so with
 * one replica all of it lands there. Each pooler's pool must therefore fit one server alone.
 *
 * The formula, with C = max_connections and R = superuser_reserved_connections + reserved_connections
 * (PostgreSQL keeps R of the C slots for superusers):
 *   pooled P          = (C − R − 7) / 2, rounded down, at least 2
 *   reserve_pool_size = P / 9, rounded down, at least 1
 *   default_pool_size = P − reserve_pool_size
 * The 7 are dbaas's and its neighbours' own sessions: Patroni's (1), pgBackRest's backup and check
 * (2), the worker's psql and admin sessions (2), a metrics exporter (1) and PgBouncer's auth_query
 * session (1). Half of the rest stays for the direct (unpooled) rw and ro endpoints, and for the
 * seconds of a switchover when a promoted replica still holds pgbouncer-ro's sessions (until
 * HAProxy ro marks it down and shuts them) while pgbouncer-rw opens its own to it. Walsenders take
 * no slot of C (max_wal_senders is separate since PostgreSQL 12). An unsized cluster (C = 100,
 * R = 3) gets 40 + 5, the fixed sizes of before.
 *
 * PgBouncer's sizes are per pool, one pool per database and user pair: the bound holds for the one
 * busy pair most applications are; several busy pairs share the same slots.
 */
import { sizeParameters, type MemberSize } from './sizes';

export interface ConnectionLimits {
  /** max_connections. */
  maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (PostgreSQL 16+). */
  reservedConnections: number;
}

export interface PoolSizes {
  defaultPoolSize: number;
  reservePoolSize: number;
}

/** PostgreSQL's and Patroni's defaults: max_connections 100, superuser_reserved_connections 3. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 100, reservedConnections: 3 };
/** Sessions of Patroni, pgBackRest, the worker, an exporter and PgBouncer's auth_query (see the formula). */
export const OWN_SESSIONS = 7;
const MIN_POOLED = 2;
const RESERVE_SHARE = 9;

/** The limits a cluster starts with: max_connections from its size (common/sizes.ts), else the default. */
export function sizedConnectionLimits(size: MemberSize | undefined): ConnectionLimits {
  const sized = sizeParameters(size).max_connections;
  return { ...DEFAULT_CONNECTION_LIMITS, ...(sized !== undefined ? { maxConnections: Number(sized) } : {}) };
}

/** The pool sizes for one pooler in front of servers with these limits (the formula above). */
export function poolSizes(l: ConnectionLimits): PoolSizes {
  const pooled = Math.max(MIN_POOLED, Math.floor((l.maxConnections - l.reservedConnections - OWN_SESSIONS) / 2));
  const reservePoolSize = Math.max(1, Math.floor(pooled / RESERVE_SHARE));
  return { defaultPoolSize: pooled - reservePoolSize, reservePoolSize };
}

/**
 * The limits the pools must fit, from the leader's pg_settings rows (`name`, `setting`) and the
 * max_connections Patroni's DCS holds: the lower of it and what the leader runs, so a decrease
 * still waiting for a restart already counts and an increase counts once the leader runs with it.
 * A row or value that does not read as a number leaves PostgreSQL's default in its place.
 */
export function connectionLimits(rows: { name: string; setting: string }[], dcsMaxConnections?: string | number): ConnectionLimits {
  const of = (name: string): number | undefined => {
    const v = Number(rows.find((r) => r.name.toLowerCase() === name)?.setting);
    return Number.isInteger(v) && v >= 0 ? v : undefined;
  };
  const running = of('max_connections') ?? DEFAULT_CONNECTION_LIMITS.maxConnections;
  const configured = Number(dcsMaxConnections);
  const maxConnections = Number.isInteger(configured) && configured > 0 ? Math.min(running, configured) : running;
  const reserved = of('superuser_reserved_connections') ?? DEFAULT_CONNECTION_LIMITS.reservedConnections;
  return { maxConnections, reservedConnections: reserved + (of('reserved_connections') ?? 0) };
}

/** One line about the pools, for results and logs. */
export const describePools = (p: PoolSizes, l: ConnectionLimits): string =>
  `default_pool_size ${p.defaultPoolSize}, reserve_pool_size ${p.reservePoolSize} (max_connections ${l.maxConnections})`;

/** The pool sizes a rendered pgbouncer.ini holds (undefined when either line is missing). */
export function poolSizesOfIni(ini: string): PoolSizes | undefined {
  const read = (key: string): number | undefined => {
    const m = new RegExp(`^${key}\\s*=\\s*(\\d+)\\s*$`, 'm').exec(ini);
    return m ? Number(m[1]) : undefined;
  };
  const defaultPoolSize = read('default_pool_size');
  const reservePoolSize = read('reserve_pool_size');
  return defaultPoolSize !== undefined && reservePoolSize !== undefined ? { defaultPoolSize, reservePoolSize } : undefined;
}
