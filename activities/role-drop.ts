/**
 * `dbaas user drop`: the role's sessions end, what it made in each database goes to that
 * database's owner (its tables outlive it; DROP OWNED alone would drop them), its grants go, then
 * the role and its stored password.
 */
import type { Paths } from '../common/paths';
import { SUPERUSER } from '../common/service-users';
import type { Inventory } from './hosts/inventory';
import { forgetRolePassword } from './role-secrets';
import { withClient } from './sql';

export function createRoleDropActivities(inv: Inventory, paths: Paths) {
  return {
    /**
     * Idempotent: a retry after the role went only forgets the password. NOLOGIN first, so no
     * session starts while the others end. Sessions on replicas end when their clients leave;
     * with the role gone they can start no other.
     */
    async dropUserRole(i: { cluster: string; rwPort: number; role: string }): Promise<{ dropped: boolean; sessionsEnded: number; reassignedIn: string[] }> {
      const at = await inv.frontDoorAt(i.cluster, i.rwPort);
      const found = await withClient(paths, i.cluster, at, async (c) => {
        const r = c.escapeIdentifier(i.role);
        if ((await c.query('select 1 from pg_roles where rolname = $1', [i.role])).rows.length === 0) return undefined;
        await c.query(`ALTER ROLE ${r} NOLOGIN`);
        const ended = await c.query<{ n: number }>('select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where usename = $1', [i.role]);
        const dbs = await c.query<{ name: string; owner: string }>('select datname as name, pg_get_userbyid(datdba) as owner from pg_database where datallowconn order by datname');
        return { sessionsEnded: ended.rows[0].n, databases: dbs.rows };
      });
      const reassignedIn: string[] = [];
      for (const db of found?.databases ?? []) {
        // REASSIGN and DROP OWNED act on the database they run in (and on shared objects).
        const moved = await withClient(paths, i.cluster, at, async (c) => {
          const r = c.escapeIdentifier(i.role);
          const owned = await c.query('select 1 from pg_shdepend s join pg_database d on d.oid = s.dbid where d.datname = current_database() and s.refobjid = (select oid from pg_roles where rolname = $1) and s.deptype = \'o\' limit 1', [i.role]);
          await c.query(`REASSIGN OWNED BY ${r} TO ${c.escapeIdentifier(db.owner === i.role ? SUPERUSER : db.owner)}`);
          await c.query(`DROP OWNED BY ${r}`);
          return owned.rows.length > 0;
        }, { database: db.name });
        if (moved) reassignedIn.push(db.name);
      }
      if (found) await withClient(paths, i.cluster, at, (c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(i.role)}`));
      forgetRolePassword(paths, i.cluster, i.role);
      return { dropped: found !== undefined, sessionsEnded: found?.sessionsEnded ?? 0, reassignedIn };
    },
  };
}
