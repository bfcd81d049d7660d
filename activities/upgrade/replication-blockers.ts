/**
 * The blue/green preflight on the leader: per database that accepts connections, the tables and
 * objects logical replication cannot carry (common/logical-replication.ts says why each blocks).
 * psql over the leader's socket as the container's user, postgres (peer): no password is used.
 */
import type Docker from 'dockerode';
import type { ReplicationBlockers } from '../../common/logical-replication';
import { psqlOn, userDatabases } from './psql';
import { USER_TABLES } from './logical-copy-sql';

/** One JSON object per database: what blocks there. */
export const BLOCKERS_SQL = `SELECT json_build_object(
  'database', current_database(),
  'noReplicaIdentity', coalesce((SELECT json_agg(c.oid::regclass::text ORDER BY c.oid::regclass::text)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_TABLES} AND c.relpersistence = 'p' AND (c.relreplident = 'n'
      OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
      OR (c.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))), '[]'::json),
  'unlogged', coalesce((SELECT json_agg(c.oid::regclass::text ORDER BY c.oid::regclass::text)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_TABLES} AND c.relpersistence = 'u'), '[]'::json),
  'largeObjects', (SELECT count(*) FROM pg_largeobject_metadata))`;

export async function readReplicationBlockers(docker: Docker, container: string): Promise<ReplicationBlockers[]> {
  const found: ReplicationBlockers[] = [];
  for (const database of await userDatabases(docker, container)) found.push(JSON.parse(await psqlOn(docker, container, database, BLOCKERS_SQL)) as ReplicationBlockers);
  return found;
}
