/**
 * Databases users ask for (`dbaas db`), made and dropped through rw as the superuser. The reads
 * are plain functions of a client, so `db list` and the CLI's refusals read what the workflows read.
 */
import type { Client } from 'pg';
import type { Paths } from '../common/paths';
import { SERVICE_DATABASES, type DatabaseFacts } from '../common/db-objects';
import type { Inventory } from './hosts/inventory';
import { grantReadersDefaults } from './role-readonly';
import { withClient } from './sql';

export interface DatabaseRow {
  name: string;
  owner: string;
  sizeBytes: number;
  /** Sessions connected to it on the leader now. */
  sessions: number;
  /** One dbaas or PostgreSQL makes (postgres, app): not dropped. */
  service: boolean;
}

const SESSIONS = 'select count(*)::int from pg_stat_activity a where a.datname = d.datname and a.pid <> pg_backend_pid()';

export async function readDatabaseFacts(c: Client, database: string): Promise<DatabaseFacts> {
  const r = await c.query<{ owner: string; sessions: number }>(
    `select pg_get_userbyid(d.datdba) as owner, (${SESSIONS}) as sessions from pg_database d where d.datname = $1`, [database]);
  const row = r.rows[0];
  return row ? { exists: true, owner: row.owner, sessions: row.sessions } : { exists: false, owner: null, sessions: 0 };
}

/** Every database but the templates, by name. */
export async function listDatabases(c: Client): Promise<DatabaseRow[]> {
  const r = await c.query<{ name: string; owner: string; size: string; sessions: number }>(
    `select d.datname as name, pg_get_userbyid(d.datdba) as owner, pg_database_size(d.oid)::text as size, (${SESSIONS}) as sessions
       from pg_database d where not d.datistemplate order by d.datname`);
  return r.rows.map((x) => ({ name: x.name, owner: x.owner, sizeBytes: Number(x.size), sessions: x.sessions, service: SERVICE_DATABASES.includes(x.name) }));
}

export function createDatabaseActivities(inv: Inventory, paths: Paths) {
  const rw = async <T>(cluster: string, rwPort: number, fn: (c: Client) => Promise<T>): Promise<T> =>
    withClient(paths, cluster, await inv.frontDoorAt(cluster, rwPort), fn);
  return {
    async databaseFacts(i: { cluster: string; rwPort: number; database: string }): Promise<DatabaseFacts> {
      return rw(i.cluster, i.rwPort, (c) => readDatabaseFacts(c, i.database));
    },

    /**
     * CREATE DATABASE cannot run in a transaction or a DO block: looked up first, so a retry after
     * it was made only sets the owner again.
     */
    async createDatabase(i: { cluster: string; rwPort: number; database: string; owner?: string }): Promise<{ created: boolean }> {
      return rw(i.cluster, i.rwPort, async (c) => {
        const db = c.escapeIdentifier(i.database);
        const exists = (await readDatabaseFacts(c, i.database)).exists;
        if (!exists) await c.query(`CREATE DATABASE ${db}${i.owner ? ` OWNER ${c.escapeIdentifier(i.owner)}` : ''}`);
        else if (i.owner) await c.query(`ALTER DATABASE ${db} OWNER TO ${c.escapeIdentifier(i.owner)}`);
        return { created: !exists };
      }).then(async (made) => {
        const owner = i.owner;
        // A new owner of a database with readers: they read what it makes.
        if (!made.created && owner) await withClient(paths, i.cluster, await inv.frontDoorAt(i.cluster, i.rwPort), (c) => grantReadersDefaults(c, owner), { database: i.database });
        return made;
      });
    },

    /**
     * WITH (FORCE) ends the database's sessions first: the drop was confirmed, and the poolers keep
     * idle server connections into every database used through them for minutes, so refusing
     * while any is connected would refuse long after the last client left. Replicas end theirs
     * when they replay the drop.
     */
    async dropDatabase(i: { cluster: string; rwPort: number; database: string }): Promise<{ dropped: boolean; sessionsEnded: number }> {
      return rw(i.cluster, i.rwPort, async (c) => {
        const before = await readDatabaseFacts(c, i.database);
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(i.database)} WITH (FORCE)`);
        return { dropped: before.exists, sessionsEnded: before.sessions };
      });
    },
  };
}
