/** Database and role names users may ask for, and when `db`/`user` requests are refused (common/db-objects.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDatabaseInputProblem, createDatabaseRefusal, createUserInputProblem, createUserRefusal, databaseNameProblem, droppableDatabaseProblem,
  dropDatabaseRefusal, dropUserRefusal, newDatabaseProblem, ownerProblem, roleNameProblem, rotateUserRefusal, userDatabaseProblem, userRoleProblem,
  type DatabaseFacts, type RoleFacts,
} from '../../common/db-objects';

test('names are lowercase unquoted identifiers of at most 63 bytes', () => {
  for (const ok of ['sales', '_x', 'a1_b2', 'x'.repeat(63)]) {
    assert.equal(databaseNameProblem(ok), undefined, ok);
    assert.equal(roleNameProblem(ok), undefined, ok);
  }
  for (const bad of ['', 'Sales', '1abc', 'a-b', 'a b', 'a"b', "a'b", 'a;drop', 'x'.repeat(64), 'ä']) {
    assert.match(databaseNameProblem(bad) ?? '', /database name must be 1-63 lowercase letters/, JSON.stringify(bad));
    assert.match(roleNameProblem(bad) ?? '', /role name must be/, JSON.stringify(bad));
  }
  assert.match(databaseNameProblem(42) ?? '', /must be a string/);
});

test("dbaas's own roles, PostgreSQL's pg_ prefix, dbaas's prefix and role keywords are not users' roles", () => {
  for (const r of ['postgres', 'replicator', 'rewinder', 'dbaas_pgbouncer', 'app']) assert.match(userRoleProblem(r) ?? '', /one dbaas makes and uses/, r);
  assert.match(userRoleProblem('pg_monitor') ?? '', /reserved by PostgreSQL/);
  assert.match(userRoleProblem('dbaas_admin') ?? '', /reserved for dbaas's own roles/);
  for (const k of ['public', 'none', 'current_user', 'session_user', 'current_role', 'user']) assert.match(userRoleProblem(k) ?? '', /keyword/, k);
  for (const ok of ['alice', 'reporting', 'app_ro', 'postgres_ro']) assert.equal(userRoleProblem(ok), undefined, ok);
  assert.equal(roleNameProblem('app'), undefined, '`connect --user app` is allowed');
});

test('owners: users and app and postgres; not the replication, rewind or pooler roles', () => {
  for (const ok of ['alice', 'app', 'postgres']) assert.equal(ownerProblem(ok), undefined, ok);
  for (const bad of ['replicator', 'rewinder', 'dbaas_pgbouncer', 'pg_read_all_data']) assert.match(ownerProblem(bad) ?? '', /cannot own a database/, bad);
});

test('template0, template1, postgres and app are neither created nor dropped', () => {
  for (const db of ['template0', 'template1', 'postgres', 'app']) {
    assert.ok(newDatabaseProblem(db), db);
    assert.ok(droppableDatabaseProblem(db), db);
  }
  assert.match(droppableDatabaseProblem('app') ?? '', /`dbaas connect` hands out/);
  assert.match(droppableDatabaseProblem('template1') ?? '', /PostgreSQL's own/);
  assert.equal(newDatabaseProblem('sales'), undefined);
  assert.equal(droppableDatabaseProblem('sales'), undefined);
});

test('workflow inputs: every name and the readonly flag are checked', () => {
  assert.equal(createDatabaseInputProblem({ cluster: 'orders', database: 'sales', owner: 'alice' }), undefined);
  assert.match(createDatabaseInputProblem({ cluster: 'orders', database: 'sales', owner: 'rewinder' }) ?? '', /cannot own/);
  assert.match(createDatabaseInputProblem({ cluster: 'orders', database: '../x' }) ?? '', /database name/);
  assert.equal(createUserInputProblem({ cluster: 'orders', role: 'alice', database: 'sales', readonly: true }), undefined);
  assert.match(createUserInputProblem({ cluster: 'orders', role: 'alice', readonly: 'yes' as unknown as boolean }) ?? '', /readonly must be true or false/);
  assert.match(createUserInputProblem({ cluster: 'orders', role: 'alice', database: 'Sales' }) ?? '', /database name/);
  assert.match(createUserInputProblem({ cluster: 'orders', role: 'postgres' }) ?? '', /dbaas makes/);
});

const db = (exists: boolean, sessions = 0): DatabaseFacts => ({ exists, owner: exists ? 'postgres' : null, sessions });
const role = (exists: boolean, o: Partial<RoleFacts> = {}): RoleFacts => ({ exists, canLogin: exists, ownsDatabases: [], databases: [], ...o });

test('refusals from what the catalogs say, each one line naming what to do', () => {
  assert.equal(createDatabaseRefusal({ cluster: 'orders', database: 'sales' }, db(false), null), undefined);
  assert.match(createDatabaseRefusal({ cluster: 'orders', database: 'sales' }, db(true), null) ?? '', /^database sales already exists in cluster orders \(owner postgres\)$/);
  assert.match(createDatabaseRefusal({ cluster: 'orders', database: 'sales', owner: 'bob' }, db(false), role(false)) ?? '', /no role bob in cluster orders.*dbaas user create orders bob/);
  assert.equal(dropDatabaseRefusal({ cluster: 'orders', database: 'sales' }, db(true, 3)), undefined, 'sessions do not refuse a drop: it ends them');
  assert.match(dropDatabaseRefusal({ cluster: 'orders', database: 'sales' }, db(false)) ?? '', /^no database sales in cluster orders/);

  const alice = { cluster: 'orders', role: 'alice' };
  assert.equal(createUserRefusal(alice, role(false), db(true)), undefined);
  assert.match(createUserRefusal(alice, role(true), db(true)) ?? '', /already exists.*user rotate orders alice/);
  assert.match(createUserRefusal({ ...alice, database: 'sales' }, role(false), db(false)) ?? '', /no database sales.*db create orders sales/);
  assert.match(createUserRefusal(alice, role(false), db(false)) ?? '', /no database app/, 'the default database is app');
  assert.equal(rotateUserRefusal(alice, role(true)), undefined);
  assert.match(rotateUserRefusal(alice, role(false)) ?? '', /^no role alice in cluster orders/);
  assert.match(rotateUserRefusal(alice, role(true, { canLogin: false })) ?? '', /NOLOGIN/);
  assert.equal(dropUserRefusal(alice, role(true, { databases: ['sales'] })), undefined);
  assert.match(dropUserRefusal(alice, role(true, { ownsDatabases: ['sales'] })) ?? '', /owns database sales: drop it first \(`dbaas db drop orders sales`\)/);
  assert.match(dropUserRefusal(alice, role(false)) ?? '', /^no role alice/);
});

test('a user role goes in app or a database made with db create, never in template0/1 or postgres (dbaas runs its own SQL there as the superuser)', () => {
  for (const db of ['template0', 'template1', 'postgres']) assert.match(userDatabaseProblem(db) ?? '', /dbaas's and PostgreSQL's own/, db);
  for (const db of ['app', 'sales']) assert.equal(userDatabaseProblem(db), undefined, db);
  assert.match(createUserInputProblem({ cluster: 'orders', role: 'alice', database: 'postgres' }) ?? '', /dbaas's and PostgreSQL's own/);
});
