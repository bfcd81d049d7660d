/**
 * Why a member's PostgreSQL did not start, from its container's log: Patroni passes the
 * postmaster's stderr through, so PostgreSQL's FATAL line (could not map anonymous shared
 * memory, group "x" does not exist…) is there, beside Patroni's own lines.
 */
import type Docker from 'dockerode';
import { demux } from './docker';

/** FATAL lines about clients' sessions while the server stops or starts, not about the server itself. */
const SESSION_FATAL = /the database system is (starting up|shutting down|not yet accepting connections|not accepting connections)|terminating connection due to administrator command/;

/** The server's last FATAL or PANIC line of a log, without its timestamp and pid prefix; undefined: none. */
export function lastFatalLine(log: string): string | undefined {
  const line = log.split('\n').filter((l) => /\b(FATAL|PANIC):/.test(l) && !SESSION_FATAL.test(l)).pop();
  return line?.replace(/^.*?\b(FATAL|PANIC):\s*/, '$1: ').trim();
}

/** The container's last FATAL or PANIC line since `sinceMs` (epoch ms); undefined: none, or the log could not be read. */
export async function postgresFatalSince(docker: Docker, container: string, sinceMs: number): Promise<string | undefined> {
  try {
    const raw = await docker.getContainer(container).logs({ stdout: true, stderr: true, since: Math.floor(sinceMs / 1000) - 1, tail: 200 });
    return lastFatalLine(demux(raw as unknown as Buffer));
  } catch {
    return undefined;
  }
}
