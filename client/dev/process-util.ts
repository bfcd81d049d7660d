/**
 * Process plumbing for `dbaas dev`: detached daemons with pid files, foreground commands whose
 * output goes to a log file, and cheap liveness probes. No shell strings anywhere.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Log } from './types';

/** Environment marker put on every daemon we start, so a recycled pid is never mistaken for ours. */
export const MARKER_ENV = 'DBAAS_DEV_PROCESS';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const seconds = (startMs: number): string => ((Date.now() - startMs) / 1000).toFixed(1);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when pid is alive and carries our marker for `role`. Where /proc/<pid>/environ cannot be
 * read (not Linux, other user) we fall back to plain liveness.
 */
export function isOurProcess(pid: number, role: string): boolean {
  if (!isAlive(pid)) return false;
  if (!fs.existsSync('/proc/self/environ')) return true;
  let environ: string;
  try {
    environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch (e) {
    // ESRCH/ENOENT: exiting or a zombie; our detached children are reaped by PID 1, which here
    // can take seconds, and kill(pid, 0) still succeeds meanwhile. EACCES: another user's.
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM';
  }
  // A zombie has an empty environ: treat it as gone.
  return environ.split('\0').includes(`${MARKER_ENV}=${role}`);
}

export function readPid(pidFile: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The pid from pidFile if that process is alive and ours, else undefined. */
export function livePid(pidFile: string, role: string): number | undefined {
  const pid = readPid(pidFile);
  return pid !== undefined && isOurProcess(pid, role) ? pid : undefined;
}

/**
 * SIGTERM the process named by pidFile, SIGKILL after timeoutMs, then remove the pid file.
 * Returns the pid that was stopped, or undefined when nothing of ours was running.
 */
export async function stopPidFile(pidFile: string, role: string, timeoutMs = 15_000): Promise<number | undefined> {
  const pid = livePid(pidFile, role);
  if (pid !== undefined) {
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (isOurProcess(pid, role) && Date.now() < deadline) await sleep(100);
    if (isOurProcess(pid, role)) {
      signal(pid, 'SIGKILL');
      const killDeadline = Date.now() + 5_000;
      while (isOurProcess(pid, role) && Date.now() < killDeadline) await sleep(100);
    }
  }
  fs.rmSync(pidFile, { force: true });
  return pid;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

export interface DetachedOptions {
  role: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Start a daemon that outlives this CLI: its own process group, stdio on the (appended) log file,
 * unref'd, pid written to pidFile. Returns its pid.
 */
export async function spawnDetached(cmd: string, args: string[], o: DetachedOptions): Promise<number> {
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(o.pidFile), { recursive: true });
  fs.appendFileSync(o.logFile, `--- ${new Date().toISOString()} start: ${cmd} ${args.join(' ')}\n`);
  const fd = fs.openSync(o.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: o.cwd,
      env: { ...(o.env ?? process.env), [MARKER_ENV]: o.role },
    });
    if (child.pid === undefined) {
      // spawn failures (ENOENT, EACCES) arrive as an async 'error' event.
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`cannot start ${cmd}: ${err.message}`);
    }
    child.on('error', () => undefined);
    child.unref();
    fs.writeFileSync(o.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/** Run a command to completion with stdout+stderr appended to logFile; throw with the log tail on failure. */
export async function runLogged(
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.appendFileSync(logFile, `--- ${new Date().toISOString()} run: ${cmd} ${args.join(' ')}\n`);
  const fd = fs.openSync(logFile, 'a');
  try {
    const code = await new Promise<number | string>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
      child.once('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
      child.once('exit', (c, sig) => resolve(c ?? sig ?? 'unknown'));
    });
    if (code !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} failed (${code}); see ${logFile}:\n${tailFile(logFile)}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The last lines of a log, only from the latest run (the `--- ` header we write before each). */
export function tailFile(file: string, lines = 20): string {
  try {
    const all = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    let start = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      if (all[i].startsWith('--- ')) {
        start = i;
        break;
      }
    }
    return all.slice(Math.max(start, all.length - lines)).join('\n');
  } catch {
    return '(no log)';
  }
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of an executable on PATH (or one of the extra candidates), like `command -v`. */
export function which(cmd: string, extra: string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  // apt puts dockerd in /usr/sbin, which a non-login root shell may not have on PATH.
  for (const d of [...dirs, '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    const f = path.join(d, cmd);
    if (isExecutable(f)) return f;
  }
  return extra.find(isExecutable);
}

/** Does something accept TCP connections at host:port within timeoutMs? */
export function tcpAccepts(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Split "host:port" (IPv6 in brackets allowed). */
export function hostPort(address: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address.trim());
  if (!m) return { host: address, port: defaultPort };
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

export const isDebianRoot = (): boolean => process.getuid?.() === 0 && fs.existsSync('/etc/debian_version');

/**
 * apt-get update + install, output to logFile. Waits for another apt run's lock instead of failing.
 * noRecommends: only what the packages depend on (Debian's prometheus recommends node-exporter).
 */
export async function aptInstall(packages: string[], logFile: string, log: Log, o: { noRecommends?: boolean } = {}): Promise<void> {
  log(`installing ${packages.join(' ')} with apt-get (log: ${logFile})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  await runLogged('apt-get', [...lock, 'update'], logFile, env);
  await runLogged('apt-get', [...lock, 'install', '-y', ...(o.noRecommends ? ['--no-install-recommends'] : []), ...packages], logFile, env);
}
