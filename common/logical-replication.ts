/**
 * What logical replication cannot carry from a cluster to a new one (the blue/green upgrade's
 * preflight), per database, and the one-line refusal that names it. Pure: the workflow turns the
 * leader's answer into its refusal.
 *
 * - A table without a usable replica identity (no primary key, REPLICA IDENTITY NOTHING, or an
 *   index identity that is gone): once a publication FOR ALL TABLES exists, PostgreSQL refuses
 *   UPDATE and DELETE on it on the old cluster itself, so the application would break, not only
 *   the copy.
 * - An unlogged table: its rows are never in the WAL that logical decoding reads.
 * - Large objects: pg_largeobject is a catalog, not a published table.
 */

export interface ReplicationBlockers {
  database: string;
  /** Tables as regclass text (schema-qualified where the search path needs it). */
  noReplicaIdentity: string[];
  unlogged: string[];
  largeObjects: number;
}

/** At most this many tables named per kind: the refusal stays one readable line. */
const NAMED = 5;

function named(tables: string[]): string {
  const shown = tables.slice(0, NAMED).join(', ');
  return tables.length > NAMED ? `${shown} and ${tables.length - NAMED} more` : shown;
}

/** One line naming everything that blocks, by database; undefined when nothing does. */
export function replicationBlockersProblem(cluster: string, found: ReplicationBlockers[]): string | undefined {
  const parts = found.flatMap((b) => {
    const what = [
      ...(b.noReplicaIdentity.length > 0 ? [`tables without a primary key or replica identity (${named(b.noReplicaIdentity)})`] : []),
      ...(b.unlogged.length > 0 ? [`unlogged tables (${named(b.unlogged)})`] : []),
      ...(b.largeObjects > 0 ? [`${b.largeObjects} large object${b.largeObjects === 1 ? '' : 's'}`] : []),
    ];
    return what.length > 0 ? [`database ${b.database}: ${what.join(', ')}`] : [];
  });
  if (parts.length === 0) return undefined;
  return `logical replication cannot carry what ${cluster} holds, so a blue-green upgrade would lose it or break writes: ${parts.join('; ')}. Add a primary key (or ALTER TABLE … REPLICA IDENTITY FULL), make the tables logged, move the large objects into bytea, or upgrade with --method in-place`;
}

/** What the old leader must have for a logical copy, read before anything is made. */
export interface LogicalCopyCapacity {
  walLevel: string;
  /** Replication slots and WAL senders the old leader has left (beside its replicas'). */
  freeSlots: number;
  freeSenders: number;
  /** Databases the copy carries: one slot and one sender each. */
  databases: number;
}

/** Beside one per database, the initial copy's table-sync workers (two at a time per subscription) each hold a slot and a sender a while. */
export const TABLE_SYNC_HEADROOM = 2;

/**
 * max_logical_replication_workers of the members a blue/green upgrade builds (common/render/patroni.ts):
 * one apply worker per database, and the table-sync workers of the initial copy, come out of it.
 */
export const LOGICAL_REPLICATION_WORKERS = 8;

/** One line saying why the old leader cannot feed a logical copy, or undefined. */
export function logicalCopyCapacityProblem(cluster: string, c: LogicalCopyCapacity): string | undefined {
  if (c.walLevel !== 'logical') {
    return `cluster ${cluster} runs wal_level=${c.walLevel} (it was made before dbaas made clusters with logical WAL): a blue-green upgrade needs wal_level=logical: set it with \`dbaas cluster config set ${cluster} wal_level=logical --restart rolling\` (one switchover), or upgrade with --method in-place`;
  }
  const need = c.databases + TABLE_SYNC_HEADROOM;
  if (need > LOGICAL_REPLICATION_WORKERS) {
    return `cluster ${cluster} has ${c.databases} databases; a blue-green upgrade copies at most ${LOGICAL_REPLICATION_WORKERS - TABLE_SYNC_HEADROOM} (one replication worker each, beside the initial copy's); upgrade it with --method in-place`;
  }
  const short = [
    ...(c.freeSlots < need ? [`${c.freeSlots} free replication slots (max_replication_slots)`] : []),
    ...(c.freeSenders < need ? [`${c.freeSenders} free WAL senders (max_wal_senders)`] : []),
  ];
  if (short.length === 0) return undefined;
  return `cluster ${cluster} has ${short.join(' and ')}, and a blue-green upgrade of its ${c.databases} databases needs ${need} of each; upgrade it with --method in-place`;
}
