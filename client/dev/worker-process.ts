/**
 * The dbaas Temporal worker as a detached background process. `dev up` always restarts it so
 * the running worker executes the code just built; that is safe because workflow state lives in
 * Temporal and activities are retried by the next worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, type Paths } from '../../common/paths';
import { livePid, sleep, spawnDetached, stopPidFile, tailFile } from './process-util';
import type { Log } from './types';

export const WORKER_ROLE = 'worker';
export const DEFAULT_WORKER_SCRIPT = path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js');
/** A worker that cannot connect or load its workflows usually dies within this. */
const SETTLE_MS = 1_500;

export const workerPidFile = (paths: Paths): string => path.join(paths.run, 'worker.pid');
const workerLog = (paths: Paths): string => path.join(paths.logs, 'worker.log');

export function workerPid(paths: Paths): number | undefined {
  return livePid(workerPidFile(paths), WORKER_ROLE);
}

export async function stopWorker(paths: Paths): Promise<number | undefined> {
  return stopPidFile(workerPidFile(paths), WORKER_ROLE, 15_000);
}

export async function startWorker(paths: Paths, log: Log, script: string = DEFAULT_WORKER_SCRIPT): Promise<number> {
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const old = await stopWorker(paths);
  if (old !== undefined) log(`stopped the previous worker (pid ${old})`);
  const pid = await spawnDetached(process.execPath, [script], {
    role: WORKER_ROLE,
    logFile: workerLog(paths),
    pidFile: workerPidFile(paths),
    cwd: PROJECT_ROOT,
  });
  await sleep(SETTLE_MS);
  if (workerPid(paths) !== pid) {
    throw new Error(`the worker exited right after start; see ${workerLog(paths)}:\n${tailFile(workerLog(paths))}`);
  }
  return pid;
}
