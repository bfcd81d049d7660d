/** A role's password, set from a SCRAM verifier computed here: the plaintext never reaches the server. */
import type { Client } from 'pg';
import { scramSha256Verifier, scramVerifierMatches } from './scram';

/**
 * Idempotent: a role whose stored verifier already matches is left alone (a retried step, a
 * create on kept data). Otherwise the server stores the verifier as it is; DDL takes no bind
 * parameters, so the client escapes it as a literal.
 */
export async function setRolePassword(c: Client, role: string, password: string): Promise<'set' | 'unchanged'> {
  const r = await c.query<{ rolpassword: string | null }>('select rolpassword from pg_authid where rolname = $1', [role]);
  if (r.rows.length === 0) throw new Error(`role ${role} does not exist`);
  if (scramVerifierMatches(password, r.rows[0].rolpassword)) return 'unchanged';
  await c.query(`ALTER ROLE ${c.escapeIdentifier(role)} PASSWORD ${c.escapeLiteral(scramSha256Verifier(password))}`);
  return 'set';
}
