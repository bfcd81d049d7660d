/**
 * Find or start a Docker engine. CI starts on a bare Debian machine as root with no engine, so
 * there (and only there) we install docker.io and run dockerd ourselves; everywhere else we use
 * what the user has and say how to fix it when it is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { Paths } from '../../common/paths';
import { aptInstall, isDebianRoot, livePid, seconds, sleep, spawnDetached, tailFile, which } from './process-util';
import type { Log } from './types';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
export const DOCKERD_ROLE = 'dockerd';
const START_TIMEOUT_MS = 60_000;

/** A client for DOCKER_HOST if set, else the default local socket (dockerode's own rule). */
export function dockerClient(): Docker {
  return new Docker();
}

/** The address dockerClient() talks to, for messages and status. */
export function dockerHost(): string {
  return process.env.DOCKER_HOST || `unix://${DEFAULT_DOCKER_SOCKET}`;
}

export const dockerdPidFile = (paths: Paths): string => path.join(paths.run, 'dockerd.pid');

/** true when the engine answers /_ping within timeoutMs. A black-holed TCP host must not hang us. */
export async function pingDocker(docker: Docker, timeoutMs = 3_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([docker.ping().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function ensureDockerEngine(paths: Paths, log: Log): Promise<Docker> {
  if (process.env.DOCKER_HOST) {
    const docker = dockerClient();
    if (await pingDocker(docker)) return docker;
    throw new Error(
      `Docker engine at DOCKER_HOST=${process.env.DOCKER_HOST} does not answer: start Docker there, or unset DOCKER_HOST to use ${DEFAULT_DOCKER_SOCKET}`,
    );
  }
  const docker = new Docker({ socketPath: DEFAULT_DOCKER_SOCKET });
  if (await pingDocker(docker)) return docker;

  if (!isDebianRoot()) {
    throw new Error(
      `no Docker engine answers at ${DEFAULT_DOCKER_SOCKET}: install Docker and start it, or set DOCKER_HOST`,
    );
  }
  await startDockerd(paths, log);
  const deadline = Date.now() + START_TIMEOUT_MS;
  const pidFile = dockerdPidFile(paths);
  while (Date.now() < deadline) {
    if (await pingDocker(docker, 1_000)) return docker;
    const pid = livePid(pidFile, DOCKERD_ROLE);
    if (pid === undefined) {
      throw new Error(`dockerd exited during startup; see ${logFile(paths)}:\n${tailFile(logFile(paths))}`);
    }
    await sleep(500);
  }
  throw new Error(`dockerd did not answer within ${START_TIMEOUT_MS / 1000}s; see ${logFile(paths)}:\n${tailFile(logFile(paths))}`);
}

const logFile = (paths: Paths): string => path.join(paths.logs, 'dockerd.log');

/** Install (if needed) and launch dockerd detached, unless one we started is already coming up. */
async function startDockerd(paths: Paths, log: Log): Promise<void> {
  const pidFile = dockerdPidFile(paths);
  const running = livePid(pidFile, DOCKERD_ROLE);
  if (running !== undefined) {
    log(`waiting for dockerd (pid ${running}) to answer`);
    return;
  }
  let dockerd = which('dockerd');
  if (dockerd === undefined) {
    const t0 = Date.now();
    // debootstrap too: the base image is made with it when no registry answers.
    await aptInstall(['docker.io', 'debootstrap'], path.join(paths.logs, 'apt.log'), log);
    log(`installed docker.io (${seconds(t0)}s)`);
    dockerd = which('dockerd');
    if (dockerd === undefined) throw new Error('apt-get installed docker.io but dockerd is not found in PATH or /usr/sbin');
  }
  fs.mkdirSync(paths.run, { recursive: true });
  const pid = await spawnDetached(dockerd, [], { role: DOCKERD_ROLE, logFile: logFile(paths), pidFile });
  log(`started dockerd (pid ${pid}, log ${logFile(paths)})`);
}
