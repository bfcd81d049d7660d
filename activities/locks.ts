/** Per-cluster file locks in DBAAS_HOME/locks, for read-modify-write steps that must not interleave. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import type { Paths } from '../common/paths';
import { heartbeat, warn } from './heartbeat';
import { insideHome } from './home-paths';

export async function withClusterLock<T>(paths: Paths, name: string, fn: () => Promise<T>): Promise<T> {
  const file = insideHome(paths, 'locks', `${name}.lock`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) fs.writeFileSync(file, '');
  const release = await lockfile.lock(file, {
    // Another step may hold it for a reload (seconds); heartbeat while waiting.
    retries: { retries: 120, minTimeout: 250, maxTimeout: 1000, factor: 1.2 },
    // The holder refreshes the lock every 2 s; a lock left by a killed worker is taken over
    // after 10 s (it used to be 60 s, which stalled the retried step that long). A holder whose
    // event loop stalls for 8 s loses it: that is logged, the step goes on (its reload is idempotent).
    stale: 10_000,
    update: 2_000,
    onCompromised: (err) => warn(`cluster lock ${name} lost while held: ${err.message}`),
  });
  heartbeat(`holding lock ${name}`);
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
