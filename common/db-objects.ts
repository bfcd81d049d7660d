/**
 * Databases and login roles that users ask dbaas for (`db`, `user`): which names are allowed, and
 * when a request is refused. Pure: the workflows check their input and decide with it, and the CLI
 * refuses with the same lines before it starts anything.
 */
import { APP_DATABASE, APP_USER, DEFAULT_DATABASE, REPLICATION_USER, REWIND_USER, SUPERUSER } from './service-users';
import { POOLER_AUTH_USER } from './render/pgbouncer';

/**
 * Lowercase unquoted SQL identifiers, at most 63 bytes (NAMEDATALEN - 1): the name reads the
 * same in psql without quotes, in a URI and in dbaas's own SQL (which quotes it all the same).
 */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The roles dbaas makes and relies on: a user's create, rotate or drop of one would break a cluster or `connect`. */
export const SERVICE_ROLES: readonly string[] = [SUPERUSER, REPLICATION_USER, REWIND_USER, POOLER_AUTH_USER, APP_USER];
/** template0/1 make every database; postgres holds dbaas's own schema; app is what `connect` hands out. */
export const SERVICE_DATABASES: readonly string[] = ['template0', 'template1', DEFAULT_DATABASE, APP_DATABASE];
/** PostgreSQL refuses `public` and `none` as role names; the others are keywords where a role is named (GRANT … TO current_user). */
const ROLE_KEYWORDS = ['public', 'none', 'current_user', 'current_role', 'session_user', 'user'];

function identifierProblem(what: string, name: unknown): string | undefined {
  if (typeof name !== 'string') return `${what} name must be a string, got ${typeof name}`;
  if (IDENTIFIER.test(name)) return undefined;
  return `${what} name must be 1-63 lowercase letters, digits or '_', not starting with a digit, got "${name}"`;
}

/** Any role's name (`connect --user` takes dbaas's own too). */
export function roleNameProblem(name: unknown): string | undefined {
  return identifierProblem('role', name);
}

export function databaseNameProblem(name: unknown): string | undefined {
  return identifierProblem('database', name);
}

/** A role a user may create, rotate or drop: well-formed, not dbaas's, not PostgreSQL's. */
export function userRoleProblem(name: unknown): string | undefined {
  const shape = roleNameProblem(name);
  if (shape) return shape;
  const role = name as string;
  if (SERVICE_ROLES.includes(role)) return `role ${role} is one dbaas makes and uses; choose another name`;
  if (role.startsWith('pg_')) return `role names starting with pg_ are reserved by PostgreSQL, got "${role}"`;
  if (role.startsWith('dbaas')) return `role names starting with dbaas are reserved for dbaas's own roles, got "${role}"`;
  if (ROLE_KEYWORDS.includes(role)) return `"${role}" cannot name a role (a PostgreSQL keyword where roles are named)`;
  return undefined;
}

/** A database's owner: any role of the cluster but the replication and service roles (the app role may own one). */
export function ownerProblem(name: unknown): string | undefined {
  const shape = identifierProblem('owner', name);
  if (shape) return shape;
  const role = name as string;
  if (role !== APP_USER && role !== SUPERUSER && (SERVICE_ROLES.includes(role) || role.startsWith('pg_') || role.startsWith('dbaas'))) return `role ${role} cannot own a database`;
  return undefined;
}

export function newDatabaseProblem(name: unknown): string | undefined {
  const shape = databaseNameProblem(name);
  if (shape) return shape;
  return SERVICE_DATABASES.includes(name as string) ? `database ${String(name)} exists in every cluster dbaas makes` : undefined;
}

export function droppableDatabaseProblem(name: unknown): string | undefined {
  const shape = databaseNameProblem(name);
  if (shape) return shape;
  if (name === APP_DATABASE) return `database ${APP_DATABASE} is the one \`dbaas connect\` hands out; it is not dropped`;
  return SERVICE_DATABASES.includes(name as string) ? `database ${String(name)} is PostgreSQL's own; it is not dropped` : undefined;
}

export interface CreateDatabaseInput {
  cluster: string;
  database: string;
  owner?: string;
}

export interface DropDatabaseInput {
  cluster: string;
  database: string;
}

export interface CreateUserInput {
  cluster: string;
  role: string;
  /** Where it may connect (and write, unless readonly); default APP_DATABASE. */
  database?: string;
  readonly?: boolean;
}

/** `user drop` and `user rotate`. */
export interface UserRoleInput {
  cluster: string;
  role: string;
}

export function createDatabaseInputProblem(i: CreateDatabaseInput): string | undefined {
  return newDatabaseProblem(i.database) ?? (i.owner === undefined ? undefined : ownerProblem(i.owner));
}

/**
 * A user's database: not template0/1 or postgres. dbaas runs its own SQL there as the superuser,
 * and a role that may create objects in one could put a function first on that SQL's path (a
 * `public.pg_terminate_backend(integer, integer)` matches exactly where pg_catalog's needs a cast);
 * a grant on template1 would also be copied into every new database.
 */
export function userDatabaseProblem(name: unknown): string | undefined {
  const shape = databaseNameProblem(name);
  if (shape) return shape;
  return name !== APP_DATABASE && SERVICE_DATABASES.includes(name as string) ? `database ${String(name)} is dbaas's and PostgreSQL's own: users go in \`${APP_DATABASE}\` or one made with \`dbaas db create\`` : undefined;
}

export function createUserInputProblem(i: CreateUserInput): string | undefined {
  if (i.readonly !== undefined && typeof i.readonly !== 'boolean') return `readonly must be true or false, got ${JSON.stringify(i.readonly)}`;
  return userRoleProblem(i.role) ?? (i.database === undefined ? undefined : userDatabaseProblem(i.database));
}

/** What the catalogs say of one database, read through rw. */
export interface DatabaseFacts {
  exists: boolean;
  owner: string | null;
  /** Sessions connected to it on the leader now. */
  sessions: number;
}

/** What the catalogs say of one role, read through rw. */
export interface RoleFacts {
  exists: boolean;
  canLogin: boolean;
  /** Databases it owns: a drop of the role would leave them ownerless (PostgreSQL refuses it). */
  ownsDatabases: string[];
  /** Databases it owns or was granted CONNECT on, by name. */
  databases: string[];
}

const noDatabase = (cluster: string, database: string): string => `no database ${database} in cluster ${cluster} (\`dbaas db list ${cluster}\`)`;
const noRole = (cluster: string, role: string): string => `no role ${role} in cluster ${cluster} (\`dbaas user list ${cluster}\`)`;

export function createDatabaseRefusal(i: CreateDatabaseInput, db: DatabaseFacts, owner: RoleFacts | null): string | undefined {
  if (db.exists) return `database ${i.database} already exists in cluster ${i.cluster} (owner ${db.owner ?? 'unknown'})`;
  if (i.owner !== undefined && !owner?.exists) return `${noRole(i.cluster, i.owner)}: \`dbaas user create ${i.cluster} ${i.owner}\` makes it`;
  return undefined;
}

export function dropDatabaseRefusal(i: DropDatabaseInput, db: DatabaseFacts): string | undefined {
  return db.exists ? undefined : noDatabase(i.cluster, i.database);
}

export function createUserRefusal(i: CreateUserInput, role: RoleFacts, db: DatabaseFacts): string | undefined {
  if (role.exists) return `role ${i.role} already exists in cluster ${i.cluster} (\`dbaas user rotate ${i.cluster} ${i.role}\` gives it a new password)`;
  if (!db.exists) return `${noDatabase(i.cluster, i.database ?? APP_DATABASE)}: \`dbaas db create ${i.cluster} ${i.database ?? APP_DATABASE}\` makes it`;
  return undefined;
}

export function rotateUserRefusal(i: UserRoleInput, role: RoleFacts): string | undefined {
  if (!role.exists) return noRole(i.cluster, i.role);
  return role.canLogin ? undefined : `role ${i.role} cannot log in (NOLOGIN): a password would not be used`;
}

export function dropUserRefusal(i: UserRoleInput, role: RoleFacts): string | undefined {
  if (!role.exists) return noRole(i.cluster, i.role);
  if (role.ownsDatabases.length > 0) {
    return `role ${i.role} owns database ${role.ownsDatabases.join(', ')}: drop it first (\`dbaas db drop ${i.cluster} ${role.ownsDatabases[0]}\`) or give it another owner`;
  }
  return undefined;
}
