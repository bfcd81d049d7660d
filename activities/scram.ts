/**
 * SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in PostgreSQL's rolpassword format, computed
 * here so that `ALTER ROLE … PASSWORD` carries the verifier and the plaintext never reaches the
 * server, its log or pg_stat_statements. PostgreSQL stores a string in this format as it is.
 *
 * PostgreSQL SASLpreps the password first; our passwords are URL-safe base64, which SASLprep
 * leaves unchanged, so the UTF-8 bytes are used as they are.
 */
import * as crypto from 'node:crypto';

export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

const hmac = (key: Buffer, text: string): Buffer => crypto.createHmac('sha256', key).update(text).digest();

export interface ScramKeys {
  storedKey: Buffer;
  serverKey: Buffer;
}

export function scramKeys(password: string, salt: Buffer, iterations: number): ScramKeys {
  const saltedPassword = crypto.pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = hmac(saltedPassword, 'Client Key');
  return {
    storedKey: crypto.createHash('sha256').update(clientKey).digest(),
    serverKey: hmac(saltedPassword, 'Server Key'),
  };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64, with a fresh random salt. */
export function scramSha256Verifier(password: string, salt: Buffer = crypto.randomBytes(SALT_BYTES), iterations = SCRAM_ITERATIONS): string {
  const k = scramKeys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${k.storedKey.toString('base64')}:${k.serverKey.toString('base64')}`;
}

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** Whether a stored verifier (rolpassword) was made from this password: a role whose password is already right is left alone. */
export function scramVerifierMatches(password: string, verifier: string | null | undefined): boolean {
  const m = VERIFIER.exec(verifier ?? '');
  if (!m) return false;
  const iterations = Number(m[1]);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 1_000_000) return false;
  const k = scramKeys(password, Buffer.from(m[2], 'base64'), iterations);
  const stored = Buffer.from(m[3], 'base64');
  const server = Buffer.from(m[4], 'base64');
  return stored.length === 32 && server.length === 32 && crypto.timingSafeEqual(stored, k.storedKey) && crypto.timingSafeEqual(server, k.serverKey);
}
