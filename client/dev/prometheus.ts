/**
 * The Prometheus side of `dbaas dev`: Debian's `prometheus` (and its `promtool`), installed by
 * apt where we can, and a server on 127.0.0.1 (DBAAS_PROMETHEUS_PORT, default 9090), detached
 * like the Temporal server, with its configuration and data under the dbaas home. It finds the
 * clusters' targets itself (file-based discovery, activities/scrape-targets.ts): nothing here
 * changes when a cluster does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCAL_HOST } from '../../common/inventory';
import { PROJECT_ROOT, type Paths } from '../../common/paths';
import { prometheusEndpoint, WORKER_FACTS_ADDRESS, WORKER_SDK_METRICS_ADDRESS, type PrometheusEndpoint } from '../../common/prometheus-config';
import {
  aptInstall, isDebianRoot, livePid, runLogged, seconds, sleep, spawnDetached, stopPidFile, tailFile, tcpAccepts, which,
} from './process-util';
import { renderPrometheusConfig, type StaticTarget } from './prometheus-yml';
import type { Log } from './types';

export const PROMETHEUS_ROLE = 'prometheus';
/** The alert rules dbaas ships (read from the checkout, like the Dockerfiles). */
export const RULES_FILE = path.join(PROJECT_ROOT, 'prometheus', 'rules', 'dbaas.yml');
const START_TIMEOUT_MS = 60_000;

export const prometheusPidFile = (paths: Paths): string => path.join(paths.run, 'prometheus.pid');
const prometheusLog = (paths: Paths): string => path.join(paths.logs, 'prometheus.log');
const configFile = (paths: Paths): string => path.join(paths.prometheus, 'prometheus.yml');

/** The worker's own endpoints, as `dev up` starts it on this machine. */
export const WORKER_TARGETS: StaticTarget[] = [
  { component: 'dbaas', address: WORKER_FACTS_ADDRESS, host: LOCAL_HOST },
  { component: 'worker', address: WORKER_SDK_METRICS_ADDRESS, host: LOCAL_HOST },
];

export interface PrometheusBinaries {
  prometheus: string;
  promtool: string;
}

export function findPrometheusBinaries(): PrometheusBinaries | undefined {
  const prometheus = which('prometheus');
  const promtool = which('promtool');
  return prometheus && promtool ? { prometheus, promtool } : undefined;
}

/**
 * Installs Debian's package where it can (root on Debian), also for `dev up --no-server`: tests
 * start their own server and run promtool. Elsewhere it says how, and `dev up` goes on without it.
 */
export async function ensurePrometheusBinaries(paths: Paths, log: Log): Promise<PrometheusBinaries | undefined> {
  const found = findPrometheusBinaries();
  if (found !== undefined) return found;
  if (!isDebianRoot()) {
    log('! prometheus: not found; metrics and alerts need it (Debian: apt-get install --no-install-recommends prometheus)');
    return undefined;
  }
  const t0 = Date.now();
  await aptInstall(['prometheus'], path.join(paths.logs, 'apt.log'), log, { noRecommends: true });
  const installed = findPrometheusBinaries();
  if (installed === undefined) throw new Error('apt-get installed prometheus but prometheus or promtool is not on PATH');
  log(`✓ prometheus installed (${seconds(t0)}s)`);
  return installed;
}

/** The command line of a server on `endpoint` with this configuration and data directory. */
export function prometheusArgs(config: string, dataDir: string, endpoint: PrometheusEndpoint): string[] {
  return [
    `--config.file=${config}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=${endpoint.host}:${endpoint.port}`,
  ];
}

/** Until GET /-/ready answers 200, or the process dies (`alive` false), or the timeout. */
export async function waitForPrometheusReady(endpoint: PrometheusEndpoint, alive: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`prometheus exited during startup; see ${logFile}:\n${tailFile(logFile)}`);
    try {
      const res = await fetch(`${endpoint.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  throw new Error(`prometheus did not get ready on ${endpoint.url} within ${START_TIMEOUT_MS / 1000}s; see ${logFile}:\n${tailFile(logFile)}`);
}

/** Write the configuration and have promtool check it (and the rules it names) before a server reads it. */
export async function writePrometheusConfig(file: string, content: string, promtool: string, logFile: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, content);
  await runLogged(promtool, ['check', 'config', `${file}.tmp`], logFile);
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Start the server, or reuse ours: it re-reads its configuration and rules on SIGHUP, so a `dev
 * up` after a checkout update applies new rules without losing data.
 */
export async function ensurePrometheusServer(paths: Paths, log: Log): Promise<PrometheusEndpoint & { pid: number }> {
  const endpoint = prometheusEndpoint();
  const bins = findPrometheusBinaries();
  if (bins === undefined) throw new Error('prometheus is not installed (Debian: apt-get install --no-install-recommends prometheus)');
  fs.mkdirSync(paths.scrapeTargets, { recursive: true });
  const config = renderPrometheusConfig({ targetsDir: paths.scrapeTargets, ruleFiles: [RULES_FILE], staticTargets: WORKER_TARGETS });
  await writePrometheusConfig(configFile(paths), config, bins.promtool, prometheusLog(paths));
  const pidFile = prometheusPidFile(paths);
  const running = livePid(pidFile, PROMETHEUS_ROLE);
  if (running !== undefined) {
    if (await tcpAccepts(endpoint.host, endpoint.port)) {
      process.kill(running, 'SIGHUP');
      return { ...endpoint, pid: running };
    }
    // Ours, but not where it should listen now (DBAAS_PROMETHEUS_PORT changed, or still starting): start it anew.
    await stopPrometheusServer(paths);
  }
  if (await tcpAccepts(endpoint.host, endpoint.port)) {
    throw new Error(`${endpoint.host}:${endpoint.port} is taken by a process dbaas did not start (Debian's prometheus service? systemctl disable --now prometheus), or set DBAAS_PROMETHEUS_PORT`);
  }
  const args = prometheusArgs(configFile(paths), path.join(paths.prometheus, 'data'), endpoint);
  const pid = await spawnDetached(bins.prometheus, args, { role: PROMETHEUS_ROLE, logFile: prometheusLog(paths), pidFile });
  log(`started prometheus (pid ${pid}, log ${prometheusLog(paths)})`);
  await waitForPrometheusReady(endpoint, () => livePid(pidFile, PROMETHEUS_ROLE) === pid, prometheusLog(paths));
  return { ...endpoint, pid };
}

/** Stop the server we started (if any). Returns its pid when one was stopped. */
export async function stopPrometheusServer(paths: Paths): Promise<number | undefined> {
  return stopPidFile(prometheusPidFile(paths), PROMETHEUS_ROLE, 15_000);
}
