/**
 * The progress measure of a PostgreSQL data directory being filled: its size in bytes (grows
 * while pg_basebackup or pgbackrest restore copies) and the titles of the recovery processes
 * (`startup recovering <WAL file>`, `walreceiver streaming <LSN>`: they move while WAL is
 * replayed or received). Read by one `docker exec` in the member's or the restore helper's
 * container; the helper has no network, and the titles need no connection (a recovering
 * helper accepts none until it has promoted).
 */
import type Docker from 'dockerode';
import { execIn } from './docker';

/**
 * Prints the size, then every process's command line (PostgreSQL writes its titles there).
 * The parser picks PostgreSQL's titles: this shell's own command line is among them.
 */
export function dataProgressCommand(dataDir: string): string[] {
  return ['sh', '-c', `du -sb ${dataDir} 2>/dev/null | cut -f1; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done`];
}

const RECOVERY_TITLE = /^postgres: .*?\b((?:startup|walreceiver) .*)$/;

/** "data directory 123456 bytes, startup recovering 0000000100000000000000A3", or undefined when nothing is readable. */
export function parseDataProgress(output: string): string | undefined {
  const lines = output.split('\n');
  // du prints nothing when the directory is not there yet: the first line is then a process's.
  const first = lines[0]?.trim() ?? '';
  const size = /^\d+$/.test(first) ? `data directory ${first} bytes` : undefined;
  const titles = lines
    .map((line) => RECOVERY_TITLE.exec(line.trim())?.[1]?.trim())
    .filter((t): t is string => t !== undefined && t.length > 0)
    .sort();
  const parts = [...(size ? [size] : []), ...titles];
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** The measure of the data directory in a running container; undefined when the container does not answer. */
export async function dataProgress(docker: Docker, container: string, dataDir: string): Promise<string | undefined> {
  const r = await execIn(docker, container, dataProgressCommand(dataDir));
  return r.exitCode === 0 ? parseDataProgress(r.output) : undefined;
}
