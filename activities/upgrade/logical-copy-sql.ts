/**
 * The statements of a blue/green upgrade's logical copy (docs/design/blue-green-upgrade.md,
 * steps 4, 5 and 7), rendered for psql on a member's socket, and the arithmetic on what they
 * answer. Names are deterministic, so a retried step finds what an earlier attempt made.
 */

/** In every database of the old leader: one publication of every table. */
export const PUBLICATION = 'dbaas_upgrade';

/** The subscription in each database of the new generation's leader (subscription names are per database). */
export const subscriptionName = (generation: number): string => `dbaas_upgrade_g${generation}`;

/** Its replication slot on the old leader: slot names are cluster-wide, so the database's OID there tells them apart. */
export const slotPrefix = (generation: number): string => `dbaas_upgrade_g${generation}_`;
export const slotName = (generation: number, databaseOid: number): string => `${slotPrefix(generation)}${databaseOid}`;

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
export const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A libpq conninfo value: single-quoted, with `\` and `'` escaped (libpq's rule, not SQL's). */
const conninfoValue = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface PublisherAddress {
  host: string;
  port: number;
  user: string;
  database: string;
  /**
   * A passfile on the new generation's members: the subscription's conninfo stays in the catalog
   * (pg_subscription), so the password must not be in it.
   */
  passfile: string;
  /** The cluster CA: the copy runs over TLS, verifying the old leader's name, where the cluster has TLS. */
  sslRootCert?: string;
}

export function publisherConninfo(a: PublisherAddress): string {
  const pairs: [string, string][] = [
    ['host', a.host], ['port', String(a.port)], ['user', a.user], ['dbname', a.database], ['passfile', a.passfile],
    ...(a.sslRootCert ? [['sslmode', 'verify-full'], ['sslrootcert', a.sslRootCert]] as [string, string][] : [['sslmode', 'prefer']] as [string, string][]),
  ];
  return pairs.map(([k, v]) => `${k}=${conninfoValue(v)}`).join(' ');
}

/**
 * User tables: not the catalogs, not what an extension made (its own script fills those on the new
 * members when the schema copy creates the extension; copying them too would collide on keys).
 */
export const USER_TABLES = `c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/**
 * On the old leader, per database: the publication of every user table, made once (a retry
 * finds it). Not `FOR ALL TABLES`, which would also publish extensions' tables. A partitioned
 * table is published through its root. A database without tables gets an empty publication.
 */
export const CREATE_PUBLICATION_SQL = `DO $$ DECLARE tables text; BEGIN
  IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ${quoteLiteral(PUBLICATION)}) THEN RETURN; END IF;
  SELECT string_agg(c.oid::regclass::text, ', ') INTO tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_TABLES} AND c.relpersistence = 'p' AND NOT c.relispartition;
  IF tables IS NULL THEN
    EXECUTE format('CREATE PUBLICATION %I', ${quoteLiteral(PUBLICATION)});
  ELSE
    EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)', ${quoteLiteral(PUBLICATION)}, tables);
  END IF;
END $$`;

/** On the new leader, per database: whether the subscription exists (CREATE SUBSCRIPTION cannot run in a DO block: it makes a slot on the publisher). */
export const subscriptionExistsSql = (generation: number): string =>
  `SELECT count(*) FROM pg_subscription WHERE subname = ${quoteLiteral(subscriptionName(generation))} AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** On the new leader, per database: the subscription, copying the tables' rows first, then streaming their changes. */
export function createSubscriptionSql(generation: number, publisher: PublisherAddress, publisherDatabaseOid: number): string {
  return `CREATE SUBSCRIPTION ${quoteIdent(subscriptionName(generation))} CONNECTION ${quoteLiteral(publisherConninfo(publisher))} ` +
    `PUBLICATION ${quoteIdent(PUBLICATION)} WITH (slot_name = ${quoteLiteral(slotName(generation, publisherDatabaseOid))}, copy_data = true, create_slot = true, enabled = true)`;
}

/**
 * On the new leader, per database: how far the subscription got. `pending` counts tables whose
 * initial copy has not reached the ready state; `lsn` is the last WAL position the apply worker
 * confirmed (null before it reported one). From PostgreSQL 16 on, parallel apply workers are rows
 * without a table too: the furthest position of them counts.
 */
export const subscriptionProgressSql = (generation: number): string => `SELECT json_build_object(
  'pending', (SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = ${quoteLiteral(subscriptionName(generation))} AND r.srsubstate <> 'r'),
  'lsn', (SELECT max(latest_end_lsn)::text FROM pg_stat_subscription WHERE subname = ${quoteLiteral(subscriptionName(generation))} AND relid IS NULL))`;

/** On the old leader while the copy catches up: where its WAL is written to now (the lag is measured from it). */
export const CURRENT_LSN_SQL = 'SELECT pg_current_wal_lsn()::text';

/**
 * On the old leader once its writes stopped: where its next WAL record goes, which the copy must
 * reach. The insert position, not the write position (pg_current_wal_lsn): it also covers WAL
 * inserted but not yet written out (an asynchronous commit's, say). With the WAL page and segment
 * sizes, for copyTarget.
 */
export const STOP_POINT_SQL = "SELECT pg_current_wal_insert_lsn()::text || ' ' || current_setting('wal_block_size') || ' ' || pg_size_bytes(current_setting('wal_segment_size'))";

/** A byte offset as a WAL position (`16/B374D848`), as PostgreSQL prints one. */
export function formatLsn(at: bigint): string {
  return `${(at >> 32n).toString(16).toUpperCase()}/${(at & 0xFFFFFFFFn).toString(16).toUpperCase()}`;
}

/** WAL page headers on 64-bit builds: a segment's first page has the long one. */
const SHORT_PAGE_HEADER = 24n;
const LONG_PAGE_HEADER = 40n;

/**
 * What the copy must confirm, from STOP_POINT_SQL's answer. When the last record ends at a page
 * boundary, the insert position points past the next page's header (where no record is yet) while
 * a slot's confirmed position stops at the boundary, short of it until another record comes (the
 * next running-transactions record, up to 15 s later). A position right after a page header
 * counts as the page's start.
 */
export function copyTarget(stopPoint: string): string {
  const [lsn, blockSize, segmentSize] = stopPoint.trim().split(' ');
  const at = parseLsn(lsn ?? '');
  if (!/^\d+$/.test(blockSize ?? '') || !/^\d+$/.test(segmentSize ?? '')) throw new Error(`not a WAL stop point: ${JSON.stringify(stopPoint)}`);
  const inPage = at % BigInt(blockSize!);
  const header = at % BigInt(segmentSize!) < BigInt(blockSize!) ? LONG_PAGE_HEADER : SHORT_PAGE_HEADER;
  return inPage === header ? formatLsn(at - inPage) : formatLsn(at);
}

/** On the old leader, per database: each sequence's last value (a sequence never used has none). */
export const SEQUENCES_SQL = `SELECT coalesce(json_agg(json_build_object('name', format('%I.%I', schemaname, sequencename), 'value', last_value::text) ORDER BY schemaname, sequencename), '[]'::json)
  FROM pg_sequences WHERE last_value IS NOT NULL`;

export interface SequenceValue {
  /** Schema-qualified, already quoted as an identifier (format's %I). */
  name: string;
  /** As text: a bigint does not fit a JavaScript number. */
  value: string;
}

/** On the new leader, per database: the sequences go on from where the old leader's stopped (logical replication does not carry them). */
export function setSequencesSql(seqs: SequenceValue[]): string {
  if (seqs.length === 0) return 'SELECT 0';
  for (const s of seqs) if (!/^-?\d+$/.test(s.value)) throw new Error(`sequence ${s.name}: last value ${JSON.stringify(s.value)} is not an integer`);
  return `SELECT count(*) FROM (VALUES ${seqs.map((s) => `(${quoteLiteral(s.name)}, ${s.value}::bigint)`).join(', ')}) AS v(name, value), LATERAL setval(v.name::regclass, v.value, true)`;
}

/** A WAL position (`16/B374D848`) as a byte offset. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`not a WAL position: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/** Bytes the subscriber trails the publisher by (0 when it is at or past it; null when it reported no position yet). */
export function replicationLagBytes(publisher: string, subscriber: string | null): number | null {
  if (subscriber === null) return null;
  const lag = parseLsn(publisher) - parseLsn(subscriber);
  return lag > 0n ? Number(lag) : 0;
}
