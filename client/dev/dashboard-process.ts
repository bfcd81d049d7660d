/**
 * The dashboard (`dbaas dashboard`) as a detached background process that `dev up` (re)starts
 * with the worker, so the page serves the code just built.
 */
import * as path from 'node:path';
import { PROJECT_ROOT, type Paths } from '../../common/paths';
import { dashboardPortSetting } from '../registration/dashboard';
import { livePid, sleep, spawnDetached, stopPidFile, tailFile } from './process-util';

export const DASHBOARD_ROLE = 'dashboard';
const SETTLE_MS = 1_000;

const pidFile = (paths: Paths): string => path.join(paths.run, 'dashboard.pid');
export const dashboardLog = (paths: Paths): string => path.join(paths.logs, 'dashboard.log');

/** Where `dev up` serves it: DBAAS_DASHBOARD_PORT, as `dbaas dashboard` reads it, else 8300. */
export function dashboardEndpoint(env: NodeJS.ProcessEnv = process.env): { host: string; port: number; url: string } {
  const port = dashboardPortSetting(env);
  return { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}/` };
}

export function dashboardPid(paths: Paths): number | undefined {
  return livePid(pidFile(paths), DASHBOARD_ROLE);
}

export async function stopDashboard(paths: Paths): Promise<number | undefined> {
  return stopPidFile(pidFile(paths), DASHBOARD_ROLE, 5_000);
}

export async function startDashboard(paths: Paths, port: number): Promise<number> {
  await stopDashboard(paths);
  const pid = await spawnDetached(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'dbaas.js'), 'dashboard', '--port', String(port)], {
    role: DASHBOARD_ROLE,
    logFile: dashboardLog(paths),
    pidFile: pidFile(paths),
    cwd: PROJECT_ROOT,
  });
  await sleep(SETTLE_MS);
  if (dashboardPid(paths) !== pid) throw new Error(`the dashboard exited right after start; see ${dashboardLog(paths)}:\n${tailFile(dashboardLog(paths))}`);
  return pid;
}
