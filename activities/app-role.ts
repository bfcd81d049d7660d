/**
 * The least-privilege role `connect` hands out: APP_USER owns the database APP_DATABASE (so it may
 * create tables there: PostgreSQL 15's public schema belongs to the database owner) and is neither
 * superuser nor createrole. The superuser stays for `connect --superuser`.
 */
import type { Paths } from '../common/paths';
import type { Inventory } from './hosts/inventory';
import { APP_DATABASE, APP_USER } from '../common/service-users';
import { setRolePassword } from './role-password';
import { ensureAppPassword } from './secrets';
import { withClient } from './sql';

/**
 * Every run resets the attributes that would undo least privilege, on a role made by an older
 * run, by hand, or restored from another cluster. CREATE DATABASE cannot run in a DO block, so
 * the database is looked up first (a retry after it was made skips it).
 */
const ROLE_SQL = [
  `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_USER}') THEN CREATE ROLE ${APP_USER} LOGIN; END IF; END $$`,
  `ALTER ROLE ${APP_USER} LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
];

export function createAppRoleActivities(inv: Inventory, paths: Paths) {
  return {
    /**
     * The app role with the cluster's app password and its database, through rw; then a login as
     * it, which proves the password. A restored cluster holds the source's role with the source's
     * password: it gets this cluster's here, as the pooler role gets its own.
     */
    async ensureAppRole(i: { cluster: string; rwPort: number }): Promise<{ password: 'set' | 'unchanged'; databaseCreated: boolean }> {
      const password = ensureAppPassword(paths, i.cluster);
      const r = await withClient(paths, i.cluster, await inv.frontDoorAt(i.cluster, i.rwPort), async (c) => {
        for (const sql of ROLE_SQL) await c.query(sql);
        const set = await setRolePassword(c, APP_USER, password);
        const exists = (await c.query('select 1 from pg_database where datname = $1', [APP_DATABASE])).rows.length > 0;
        if (!exists) await c.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_USER}`);
        return { password: set, databaseCreated: !exists };
      });
      await withClient(paths, i.cluster, await inv.frontDoorAt(i.cluster, i.rwPort), (c) => c.query('select 1'), { database: APP_DATABASE, login: { user: APP_USER, password } });
      return r;
    },
  };
}
