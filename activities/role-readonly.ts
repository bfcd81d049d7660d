/**
 * What a read-only role (`user create --readonly`) reads: the tables, views and sequences of its
 * own database, those made there later included, and nothing else. PostgreSQL's
 * `pg_read_all_data` would be one line, but it reads every database the role may connect to and
 * the shared catalog `pg_authid`, every role's SCRAM verifier with it (checked on 15 and 17).
 *
 * Later tables are covered by default privileges of the roles that create in the database (its
 * owner, the superuser, roles with CREATE on it or owning one of its schemas), set when the
 * read-only role is made and again for each creator dbaas makes later (`grantReadersDefaults`).
 * Tables a role made outside dbaas creates are not (README "Databases and users").
 */
import type { Client } from 'pg';

/** A role with no privilege of its own: its members are dbaas's read-only roles (`user list` shows them so). */
export const READONLY_MARKER_ROLE = 'dbaas_readonly';

/** The schemas a reader sees: not PostgreSQL's own, not the pooler's lookup schema (dbaas). */
const USER_SCHEMAS = `select nspname as name from pg_namespace
  where nspname not in ('information_schema', 'dbaas') and nspname !~ '^pg_' order by nspname`;

/** Roles that may make objects in the current database (readers excluded). */
const CREATORS = `select r.rolname as name from pg_roles r
  where r.rolname !~ '^pg_' and not exists (select from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid and g.rolname = '${READONLY_MARKER_ROLE}')
    and (r.oid = (select datdba from pg_database where datname = current_database())
      or (r.rolsuper and r.rolcanlogin)
      or (not r.rolsuper and has_database_privilege(r.oid, current_database(), 'CREATE'))
      or exists (select from pg_namespace n where n.nspowner = r.oid and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'))
  order by r.rolname`;

/** Readers of the current database: members of the marker role with CONNECT granted on it. */
const READERS = `select r.rolname as name from pg_roles r
  join pg_auth_members m on m.member = r.oid join pg_roles g on g.oid = m.roleid and g.rolname = '${READONLY_MARKER_ROLE}'
  where exists (select from pg_database d, aclexplode(d.datacl) a where d.datname = current_database() and a.grantee = r.oid and a.privilege_type = 'CONNECT')
  order by r.rolname`;

/** Made once per cluster; `user create` holds the cluster's lease, so no two runs race here. */
export async function ensureReadonlyMarker(c: Client): Promise<void> {
  const found = await c.query('select 1 from pg_roles where rolname = $1', [READONLY_MARKER_ROLE]);
  if (found.rows.length === 0) await c.query(`CREATE ROLE ${READONLY_MARKER_ROLE} NOLOGIN`);
}

/** Marks the role read-only and takes back what earlier dbaas versions granted (pg_read_all_data). Any database. */
export async function markReadonly(c: Client, role: string): Promise<void> {
  await ensureReadonlyMarker(c);
  const r = c.escapeIdentifier(role);
  await c.query(`GRANT ${READONLY_MARKER_ROLE} TO ${r}`);
  await c.query(`REVOKE pg_read_all_data FROM ${r}`);
}

async function setDefaults(c: Client, creator: string, reader: string): Promise<void> {
  const p = `ALTER DEFAULT PRIVILEGES FOR ROLE ${c.escapeIdentifier(creator)}`;
  const r = c.escapeIdentifier(reader);
  await c.query(`${p} GRANT SELECT ON TABLES TO ${r}`);
  await c.query(`${p} GRANT SELECT ON SEQUENCES TO ${r}`);
  await c.query(`${p} GRANT USAGE ON SCHEMAS TO ${r}`);
}

/** Run inside the reader's database: SELECT on what exists, and on what its creators make later. Idempotent. */
export async function grantReadAccess(c: Client, reader: string): Promise<void> {
  const r = c.escapeIdentifier(reader);
  for (const { name } of (await c.query<{ name: string }>(USER_SCHEMAS)).rows) {
    const s = c.escapeIdentifier(name);
    await c.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${r}`);
    await c.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
  }
  for (const { name } of (await c.query<{ name: string }>(CREATORS)).rows) await setDefaults(c, name, reader);
}

/** Run inside a database that gained a creator (a read-write user, a new owner): its readers read what it makes. */
export async function grantReadersDefaults(c: Client, creator: string): Promise<void> {
  const marker = await c.query('select 1 from pg_roles where rolname = $1', [READONLY_MARKER_ROLE]);
  if (marker.rows.length === 0) return;
  for (const { name } of (await c.query<{ name: string }>(READERS)).rows) await setDefaults(c, creator, name);
}

/** SQL: whether role r (an alias of pg_roles) is read-only, by dbaas now or by an earlier version. */
export const IS_READONLY = `exists (select from pg_auth_members m join pg_roles g on g.oid = m.roleid
  where m.member = r.oid and g.rolname in ('${READONLY_MARKER_ROLE}', 'pg_read_all_data'))`;
