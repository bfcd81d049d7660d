/**
 * The Temporal side of `dbaas dev`: a `temporal` CLI binary (nothing on npm or Debian ships one,
 * so we build it with `go install` into the cache once) and a `start-dev` server on SQLite,
 * detached, so workflows survive CLI exits and restarts. An external server (TEMPORAL_ADDRESS)
 * is only checked, never started.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Paths } from '../../common/paths';
import { SEARCH_ATTRIBUTE_CLUSTER } from '../../common/search-attributes';
import { temporalConfig, type TemporalConfig } from '../../common/temporal-config';
import {
  hostPort,
  isExecutable,
  livePid,
  runLogged,
  seconds,
  sleep,
  spawnDetached,
  stopPidFile,
  tailFile,
  tcpAccepts,
  which,
} from './process-util';
import type { Log, TemporalEndpoint } from './types';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const TEMPORAL_ROLE = 'temporal';
/**
 * The dev server's SQLite file in WAL mode, as Temporal's own development-sqlite-file.yaml has
 * it: start-dev leaves SQLite's default rollback journal, where every commit creates, syncs and
 * deletes a journal file (about 1 ms a commit here, several commits a workflow task); in WAL a
 * commit appends and syncs once (0.26 ms). synchronous stays FULL: a commit is on disk when the
 * server answers, so a power loss loses no acknowledged workflow start or step.
 */
export const TEMPORAL_SQLITE_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=full'];
const START_TIMEOUT_MS = 60_000;
const DEFAULT_UI_PORT = 8233;

export const temporalPidFile = (paths: Paths): string => path.join(paths.run, 'temporal.pid');
const temporalLog = (paths: Paths): string => path.join(paths.logs, 'temporal.log');

export function findTemporalBinary(paths: Paths): string | undefined {
  // An explicit TEMPORAL_BIN wins even if broken: ensureTemporalBinary reports it rather than
  // silently building another binary behind the user's back.
  if (process.env.TEMPORAL_BIN) return process.env.TEMPORAL_BIN;
  return which('temporal') ?? (isExecutable(path.join(paths.cacheBin, 'temporal')) ? path.join(paths.cacheBin, 'temporal') : undefined);
}

export async function ensureTemporalBinary(paths: Paths, log: Log): Promise<string> {
  const found = findTemporalBinary(paths);
  if (found !== undefined) {
    if (!isExecutable(found)) throw new Error(`TEMPORAL_BIN=${found} is not an executable file`);
    return found;
  }
  const go = which('go', ['/usr/local/go/bin/go']);
  if (go === undefined) {
    throw new Error('no temporal CLI: install Go (https://go.dev/dl) or put `temporal` on PATH, or set TEMPORAL_ADDRESS to an existing server');
  }
  const logFile = path.join(paths.logs, 'go-install.log');
  const t0 = Date.now();
  log(`building the temporal CLI with go install (takes several minutes, once; log ${logFile})`);
  fs.mkdirSync(paths.cacheBin, { recursive: true });
  await runLogged(go, ['install', TEMPORAL_CLI_MODULE], logFile, {
    ...process.env,
    GOBIN: paths.cacheBin,
    GOPATH: path.join(paths.cache, 'go'),
    // Without it the module cache is read-only and a later `rm -rf` of the cache fails.
    GOFLAGS: '-modcacherw',
  });
  const bin = path.join(paths.cacheBin, 'temporal');
  if (!isExecutable(bin)) throw new Error(`go install finished but ${bin} is missing; see ${logFile}`);
  log(`built ${bin} (${seconds(t0)}s)`);
  return bin;
}

/** Connect and ask for system info: proves the frontend really serves, not just that a port is open. */
export async function temporalAnswers(cfg: Pick<TemporalConfig, 'address' | 'tls'>, timeoutMs = 3_000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: cfg.address, tls: cfg.tls, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export async function ensureTemporalServer(paths: Paths, log: Log): Promise<TemporalEndpoint> {
  const cfg = temporalConfig();
  if (cfg.external) {
    if (await temporalAnswers(cfg, 5_000)) return { address: cfg.address, ui: cfg.ui };
    throw new Error(`Temporal at TEMPORAL_ADDRESS=${cfg.address} does not answer (check the address and TLS settings, or unset it to run a local dev server)`);
  }
  const { host, port } = hostPort(cfg.address, 7233);
  const pidFile = temporalPidFile(paths);
  const running = livePid(pidFile, TEMPORAL_ROLE);
  if (running !== undefined) {
    // Ours and alive: reuse it, waiting if a concurrent `dev up` is still starting it.
    if (!(await tcpAccepts(host, port))) await waitUntilServing(paths, cfg, running);
    return { address: cfg.address, ui: cfg.ui, pid: running };
  }
  if (await tcpAccepts(host, port)) {
    // Somebody else's server (started by hand, another checkout): use it rather than fail to bind.
    if (await temporalAnswers(cfg)) {
      log(`using the Temporal server already listening on ${cfg.address} (not started by dbaas)`);
      return { address: cfg.address, ui: cfg.ui };
    }
    throw new Error(`${cfg.address} is taken by something that is not a Temporal server; free the port or set TEMPORAL_ADDRESS`);
  }
  const bin = await ensureTemporalBinary(paths, log);
  fs.mkdirSync(path.dirname(paths.temporalDb), { recursive: true });
  // Re-passing --search-attribute on an existing SQLite file is fine (checked: start-dev
  // upserts it, restarts keep working and the attribute stays Keyword).
  const args = [
    'server', 'start-dev',
    '--db-filename', paths.temporalDb,
    ...TEMPORAL_SQLITE_PRAGMAS,
    '--ip', host,
    '--port', String(port),
    '--ui-port', String(uiPort(cfg.ui)),
    ...(await httpPortArgs(cfg, log)),
    '--namespace', cfg.namespace,
    '--search-attribute', `${SEARCH_ATTRIBUTE_CLUSTER}=Keyword`,
    '--log-level', 'warn',
  ];
  const pid = await spawnDetached(bin, args, { role: TEMPORAL_ROLE, logFile: temporalLog(paths), pidFile });
  log(`started temporal server start-dev (pid ${pid}, log ${temporalLog(paths)})`);
  await waitUntilServing(paths, cfg, pid);
  return { address: cfg.address, ui: cfg.ui, pid };
}

/**
 * A fixed HTTP API port, where `cluster status` reads the lease without loading gRPC
 * (common/temporal-config.ts); when something else holds it, none (the status reads through gRPC).
 */
async function httpPortArgs(cfg: TemporalConfig, log: Log): Promise<string[]> {
  if (!cfg.httpAddress) return [];
  const { host, port } = hostPort(cfg.httpAddress, 7243);
  if (await tcpAccepts(host, port)) {
    log(`${cfg.httpAddress} is taken: the Temporal server starts without its HTTP API there (cluster status then reads operations over gRPC, ~0.4 s slower)`);
    return [];
  }
  return ['--http-port', String(port)];
}

function uiPort(ui: string): number {
  try {
    const p = Number(new URL(ui).port);
    return p > 0 ? p : DEFAULT_UI_PORT;
  } catch {
    return DEFAULT_UI_PORT;
  }
}

async function waitUntilServing(paths: Paths, cfg: TemporalConfig, pid: number): Promise<void> {
  const { host, port } = hostPort(cfg.address, 7233);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (livePid(temporalPidFile(paths), TEMPORAL_ROLE) !== pid) {
      throw new Error(`temporal server exited during startup; see ${temporalLog(paths)}:\n${tailFile(temporalLog(paths))}`);
    }
    // TCP first: Connection.connect to a closed port waits out its whole timeout.
    if ((await tcpAccepts(host, port, 500)) && (await temporalAnswers(cfg, 2_000))) return;
    await sleep(300);
  }
  throw new Error(`temporal server did not answer on ${cfg.address} within ${START_TIMEOUT_MS / 1000}s; see ${temporalLog(paths)}:\n${tailFile(temporalLog(paths))}`);
}

/** Stop the dev server we started (if any). Returns its pid when one was stopped. */
export async function stopTemporalServer(paths: Paths): Promise<number | undefined> {
  return stopPidFile(temporalPidFile(paths), TEMPORAL_ROLE, 15_000);
}
