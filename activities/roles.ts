/**
 * Login roles users ask for (`dbaas user`), through rw as the superuser. Each password is made
 * here, kept with the cluster's secrets (role-secrets.ts) and reaches the server only as a SCRAM
 * verifier (role-password.ts): never an argument, a result or a log line. The pooler finds a
 * role's verifier through auth_query, so a new or rotated password works there at once.
 */
import type { Client } from 'pg';
import type { Paths } from '../common/paths';
import { DEFAULT_DATABASE } from '../common/service-users';
import { SERVICE_ROLES, type RoleFacts } from '../common/db-objects';
import { readDatabaseFacts } from './databases';
import type { Inventory } from './hosts/inventory';
import { pollUntil } from './heartbeat';
import { setRolePassword } from './role-password';
import { ensureRolePassword, storedRole } from './role-secrets';
import { withClient } from './sql';
import { IS_READONLY, grantReadAccess, grantReadersDefaults, markReadonly } from './role-readonly';

export interface RoleRow {
  name: string;
  /** One dbaas makes and uses (postgres, replicator, rewinder, dbaas_pgbouncer, app). */
  service: boolean;
  superuser: boolean;
  /** Made with --readonly (activities/role-readonly.ts). */
  readonly: boolean;
  /** Databases it owns or was granted CONNECT on. */
  databases: string[];
}

/** A role's databases: those it owns or was granted CONNECT on (PUBLIC's default CONNECT not counted). */
const DATABASES_OF = `coalesce((select array_agg(d.datname::text order by d.datname) from pg_database d where not d.datistemplate
  and (d.datdba = r.oid or exists (select from aclexplode(d.datacl) a where a.grantee = r.oid and a.privilege_type = 'CONNECT'))), '{}')`;

export async function readRoleFacts(c: Client, role: string): Promise<RoleFacts> {
  const r = await c.query<{ login: boolean; owns: string[]; databases: string[] }>(
    `select r.rolcanlogin as login, ${DATABASES_OF} as databases,
       coalesce((select array_agg(d.datname::text order by d.datname) from pg_database d where d.datdba = r.oid), '{}') as owns
     from pg_roles r where r.rolname = $1`, [role]);
  const row = r.rows[0];
  return row ? { exists: true, canLogin: row.login, ownsDatabases: row.owns, databases: row.databases } : { exists: false, canLogin: false, ownsDatabases: [], databases: [] };
}

/** Every role that can log in, but PostgreSQL's own (pg_*), by name. */
export async function listRoles(c: Client): Promise<RoleRow[]> {
  const r = await c.query<{ name: string; superuser: boolean; readonly: boolean; databases: string[] }>(
    `select r.rolname as name, r.rolsuper as superuser, (not r.rolsuper and ${IS_READONLY}) as readonly,
       ${DATABASES_OF} as databases
     from pg_roles r where r.rolcanlogin and r.rolname !~ '^pg_' order by r.rolname`);
  return r.rows.map((x) => ({ ...x, service: SERVICE_ROLES.includes(x.name) }));
}

/**
 * Every run resets what would give the role more than asked (a role left by an earlier attempt).
 * Read-only: marked here; what it reads is granted inside its database (role-readonly.ts).
 * Read-write: it may create schemas in its database and tables in its public schema (PostgreSQL
 * 15 gives PUBLIC no CREATE there).
 */
async function grantRole(c: Client, role: string, database: string, readonly: boolean): Promise<void> {
  const r = c.escapeIdentifier(role);
  const db = c.escapeIdentifier(database);
  await c.query(`ALTER ROLE ${r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT`);
  await c.query(`GRANT CONNECT ON DATABASE ${db} TO ${r}`);
  if (readonly) await markReadonly(c, role);
  else await c.query(`GRANT CREATE ON DATABASE ${db} TO ${r}`);
}

export function createRoleActivities(inv: Inventory, paths: Paths) {
  const rw = async <T>(cluster: string, rwPort: number, fn: (c: Client) => Promise<T>, database?: string): Promise<T> =>
    withClient(paths, cluster, await inv.frontDoorAt(cluster, rwPort), fn, database ? { database } : {});
  return {
    async roleFacts(i: { cluster: string; rwPort: number; role: string }): Promise<RoleFacts> {
      return rw(i.cluster, i.rwPort, (c) => readRoleFacts(c, i.role));
    },

    /** `setBy`: the workflow run; its retries keep the password its first attempt stored. */
    async createUserRole(i: { cluster: string; rwPort: number; role: string; database: string; readonly: boolean; setBy: string }): Promise<{ created: boolean }> {
      const password = ensureRolePassword(paths, i.cluster, i.role, i.setBy, i.database);
      const created = await rw(i.cluster, i.rwPort, async (c) => {
        const exists = (await readRoleFacts(c, i.role)).exists;
        // Without a password: the verifier comes next, computed here.
        if (!exists) await c.query(`CREATE ROLE ${c.escapeIdentifier(i.role)} LOGIN`);
        await grantRole(c, i.role, i.database, i.readonly);
        await setRolePassword(c, i.role, password);
        return !exists;
      });
      // Schema and table privileges are granted inside the database.
      await rw(i.cluster, i.rwPort, async (c) => {
        if (i.readonly) return grantReadAccess(c, i.role);
        await c.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${c.escapeIdentifier(i.role)}`);
        await grantReadersDefaults(c, i.role);
      }, i.database);
      return { created };
    },

    /**
     * A new password (one per run: a retry sets the one its first attempt stored). Its URI keeps
     * the role's database while that exists; otherwise (dropped, or a role made outside dbaas) the
     * first it owns or may connect to.
     */
    async rotateUserPassword(i: { cluster: string; rwPort: number; role: string; setBy: string }): Promise<{ verifier: 'set' | 'unchanged' }> {
      return rw(i.cluster, i.rwPort, async (c) => {
        const stored = storedRole(paths, i.cluster, i.role)?.database;
        const database = stored && (await readDatabaseFacts(c, stored)).exists ? stored : (await readRoleFacts(c, i.role)).databases[0] ?? DEFAULT_DATABASE;
        return { verifier: await setRolePassword(c, i.role, ensureRolePassword(paths, i.cluster, i.role, i.setBy, database)) };
      });
    },

    /** A login with the stored password to its database, at rw or at a pooled port (auth_query then finds the verifier). */
    async proveRoleLogin(i: { cluster: string; port: number; role: string; pooled: boolean }): Promise<void> {
      const stored = storedRole(paths, i.cluster, i.role);
      if (!stored) throw new Error(`no stored password for role ${i.role}`);
      const at = await inv.frontDoorAt(i.cluster, i.port);
      await pollUntil<true>(
        `a login as ${i.role}${i.pooled ? ' through the pooler' : ''}`,
        async () => {
          await withClient(paths, i.cluster, at, (c) => c.query('select 1'), { pooled: i.pooled, database: stored.database, login: { user: i.role, password: stored.password } });
          return { done: true };
        },
        { intervalMs: 500, timeoutMs: 30_000 },
      );
    },
  };
}
