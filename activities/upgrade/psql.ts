/**
 * psql on a member's own socket, as the container's user, postgres (peer): the upgrade's SQL on
 * either generation's members needs no password.
 */
import type Docker from 'dockerode';
import { SOCKET_DIR } from '../../common/render/patroni';
import { execIn } from '../docker';

/** The statement's rows (`-At`: unaligned, tuples only), or an error naming the member and database. */
export async function psqlOn(docker: Docker, container: string, database: string, sql: string): Promise<string> {
  const r = await execIn(docker, container, ['psql', '-h', SOCKET_DIR, '-d', database, '-AtX', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  if (r.exitCode !== 0) throw new Error(`psql on ${container} (database ${database}) failed (exit ${r.exitCode}): ${r.output.trim().split('\n').pop() ?? ''}`);
  return r.output.trim();
}

/** Databases that take connections, but the templates: what an upgrade carries. */
const DATABASES_SQL = 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname';

export async function userDatabases(docker: Docker, container: string): Promise<string[]> {
  return (await psqlOn(docker, container, 'postgres', DATABASES_SQL)).split('\n').filter((d) => d !== '');
}

/** A database's OID on the member (the copy's slot names carry it). */
export async function databaseOid(docker: Docker, container: string, database: string): Promise<number> {
  return Number(await psqlOn(docker, container, 'postgres', `SELECT oid FROM pg_database WHERE datname = '${database.replace(/'/g, "''")}'`));
}
