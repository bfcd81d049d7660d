/**
 * `dbaas dev up|down|status`: bring up everything a local dbaas needs (Docker engine, images,
 * Temporal server, Prometheus, worker, dashboard), idempotently, so a re-run on a ready machine takes seconds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolvePaths, type Paths } from '../../common/paths';
import { aptInstall, hostPort, isDebianRoot, livePid, seconds, stopPidFile, tcpAccepts, which } from './process-util';
import { DOCKERD_ROLE, dockerClient, dockerdPidFile, dockerHost, ensureDockerEngine, pingDocker } from './engine';
import { BASE_IMAGES, ensureBaseImage, ensureImages } from './images';
import { ensureForwardingFirewall, removeForwardingFirewall } from './forwarding-firewall';
import { insertCommand, PREFIX_MATCH } from '../../common/render/forwarding-rules';
import { ensureTemporalBinary, ensureTemporalServer, stopTemporalServer, temporalPidFile, TEMPORAL_ROLE } from './temporal';
import { ensurePrometheusBinaries, ensurePrometheusServer, prometheusPidFile, PROMETHEUS_ROLE, stopPrometheusServer } from './prometheus';
import { prometheusEndpoint } from '../../common/prometheus-config';
import { startWorker, stopWorker, workerPid } from './worker-process';
import { dashboardEndpoint, dashboardLog, dashboardPid, startDashboard, stopDashboard } from './dashboard-process';
import { restartSimHostWorkers, stopSimHostWorkers } from './sim-hosts';
import { ensureSeaweedfsBinary, ensureSeaweedfsImage, seaweedfsBuildLog } from './seaweedfs';
import { temporalConfig } from '../../common/temporal-config';
import { refreshRepositoryHost, repositoryHostName } from '../../activities/repository-host/host';
import type { DevStatus, Log } from './types';

export type { DevStatus, Log, TemporalEndpoint } from './types';
export { ensureDockerEngine, dockerClient } from './engine';
export { contextHash, ensureBaseImage, ensureImages } from './images';
export { findTemporalBinary, ensureTemporalBinary, ensureTemporalServer, stopTemporalServer } from './temporal';
export { startWorker, stopWorker, workerPid } from './worker-process';
export { ensurePrometheusServer, stopPrometheusServer } from './prometheus';

/** Home and secrets hold credentials: owner-only, enforced even when they already exist. */
function ensureDirs(paths: Paths): void {
  for (const d of [paths.home, paths.secrets]) {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    fs.chmodSync(d, 0o700);
  }
  for (const d of [paths.logs, paths.run, paths.cache, paths.cacheBin]) fs.mkdirSync(d, { recursive: true });
}

/** A promise started early whose failure is kept, not thrown, until `unsettle` awaits it at its step. */
type Settled<T> = Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;
function settle<T>(p: Promise<T>): Settled<T> {
  return p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}
async function unsettle<T>(s: Settled<T>): Promise<T> {
  const r = await s;
  if (!r.ok) throw r.error;
  return r.value;
}

async function step<T>(log: Log, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  log(`✓ ${name} (${seconds(t0)}s)`);
  return result;
}

export interface DevUpOptions {
  log: Log;
  startWorker?: boolean;
  /** false: install everything (engine, images, Temporal CLI) but start no Temporal server (tests start their own). */
  startServer?: boolean;
  workerScript?: string;
}

/** `dbaas psql` starts the host's psql: install postgresql-client where we can, else say how. */
async function ensurePsql(paths: Paths, log: Log): Promise<void> {
  if (which('psql') !== undefined) return;
  if (!isDebianRoot()) {
    log('! psql: not found; `dbaas psql` needs it (Debian: apt-get install postgresql-client)');
    return;
  }
  await step(log, 'psql (postgresql-client)', () => aptInstall(['postgresql-client'], path.join(paths.logs, 'apt.log'), log));
}

export async function devUp(opts: DevUpOptions): Promise<DevStatus> {
  const { log } = opts;
  const paths = resolvePaths();
  ensureDirs(paths);
  // The SeaweedFS build (minutes of CPU, cached afterwards) needs no engine: on a cold machine it
  // runs while the engine installs and the images build (mostly downloads). Its failure is kept
  // for the seaweedfs step below, so it never stops the rest.
  const seaweedfsBuild = ensureSeaweedfsBinary(paths, log).then(() => undefined, (e: unknown) => e);
  // The Temporal CLI's build likewise (go install, minutes on a cold machine): it was the longest
  // step after the images, alone on the critical path. Settled here, thrown at its step.
  const temporalBuild = temporalConfig().external ? undefined : settle(ensureTemporalBinary(paths, log));
  const docker = await step(log, 'docker engine', () => ensureDockerEngine(paths, log));
  // The host's own packages (psql, Prometheus) install with the host's apt while the base images
  // debootstrap into their own directories: no shared dpkg database, no lock between them.
  const hostPackages = settle((async () => { await ensurePsql(paths, log); await ensurePrometheusBinaries(paths, log); })());
  const fw = await ensureForwardingFirewall(docker);
  log(fw.applied
    ? `✓ firewall: DOCKER-USER drops traffic forwarded into cluster networks (${fw.bridges.join(', ')})`
    : `! firewall: traffic forwarded into cluster networks is not dropped (${fw.reason}); on the Docker host, as root: ${insertCommand(PREFIX_MATCH)}`);
  // One at a time: two debootstraps at once would compete for the same mirror and disk.
  await step(log, 'base images', async () => { for (const base of BASE_IMAGES) await ensureBaseImage(docker, paths, log, base); });
  await step(log, 'images', () => ensureImages(docker, log));
  if (temporalBuild !== undefined) await step(log, 'temporal cli', () => unsettle(temporalBuild));
  await unsettle(hostPackages);
  // Only the S3 tests need it, and they skip without it: a failed build must not stop `dev up`.
  try {
    await step(log, 'seaweedfs', async () => {
      const failed = await seaweedfsBuild;
      if (failed !== undefined) throw failed;
      await ensureSeaweedfsImage(docker, paths, log);
    });
  } catch (e) {
    log(`! seaweedfs: ${String(e instanceof Error ? e.message : e).split('\n')[0]} (the S3 tests will skip; log ${seaweedfsBuildLog(paths)})`);
  }
  if (opts.startServer === false) return devStatus();
  // The control plane's: new clusters keep their backups there; made now (or anew on a rebuilt image) rather than by the first backup.
  const host = await step(log, 'repository host', () => refreshRepositoryHost(docker, paths));
  if (host !== 'current') log(`  ${repositoryHostName(paths)} ${host === 'made' ? 'made' : 'made anew on the rebuilt image (its backups kept)'}`);
  const t = await step(log, 'temporal server', () => ensureTemporalServer(paths, log));
  log(`  temporal ${t.address}${t.ui ? `, web UI ${t.ui}` : ''}`);
  // Metrics and alerts only: clusters work without them, so a failure is said and `dev up` goes on.
  try {
    const p = await step(log, 'prometheus', () => ensurePrometheusServer(paths, log));
    log(`  prometheus ${p.url}`);
  } catch (e) {
    log(`! prometheus: ${String(e instanceof Error ? e.message : e).split('\n')[0]} (metrics and alerts are off)`);
  }
  if (opts.startWorker !== false) {
    await step(log, 'worker', () => startWorker(paths, log, opts.workerScript));
    await restartSimHostWorkers(paths, log);
  }
  // Restarted like the worker, so it serves the page just built; a page to look at, so a failure is said and `dev up` goes on.
  try {
    const dashboard = dashboardEndpoint();
    await step(log, 'dashboard', () => startDashboard(paths, dashboard.port));
    log(`  dashboard ${dashboard.url}`);
  } catch (e) {
    log(`! dashboard: ${String(e instanceof Error ? e.message : e).split('\n')[0]} (log ${dashboardLog(paths)})`);
  }
  return devStatus();
}

export async function devDown(opts: { log: Log; engine?: boolean }): Promise<void> {
  const { log } = opts;
  const paths = resolvePaths();
  const w = await stopWorker(paths);
  log(w !== undefined ? `✓ stopped worker (pid ${w})` : '✓ no worker running');
  const dash = await stopDashboard(paths);
  log(dash !== undefined ? `✓ stopped dashboard (pid ${dash})` : '✓ no dashboard running');
  await stopSimHostWorkers(paths, log);
  const t = await stopTemporalServer(paths);
  log(t !== undefined ? `✓ stopped temporal server (pid ${t})` : '✓ no temporal server of ours running');
  const p = await stopPrometheusServer(paths);
  log(p !== undefined ? `✓ stopped prometheus (pid ${p})` : '✓ no prometheus of ours running');
  if (opts.engine) {
    // Only a dockerd we started; dockerd stops containers first, so give it longer.
    const d = await stopPidFile(dockerdPidFile(paths), DOCKERD_ROLE, 60_000);
    log(d !== undefined ? `✓ stopped dockerd (pid ${d})` : '✓ dockerd was not started by dbaas; left running');
    const fw = await removeForwardingFirewall();
    log(fw.applied ? `✓ firewall: removed ${fw.deleted} DOCKER-USER rule(s) of dbaas` : `! firewall: left as it is: ${fw.reason}`);
  }
}

/** Cheap checks only: ping, TCP connect, kill(pid, 0). */
export async function devStatus(): Promise<DevStatus> {
  const paths = resolvePaths();
  const cfg = temporalConfig();
  const prometheus = prometheusEndpoint();
  const dashboard = dashboardEndpoint();
  const docker = dockerClient();
  const [dockerOk, temporalOk, prometheusOk, dashboardOk] = await Promise.all([
    pingDocker(docker, 2_000),
    tcpAccepts(hostPort(cfg.address, 7233).host, hostPort(cfg.address, 7233).port, 1_000),
    tcpAccepts(prometheus.host, prometheus.port, 1_000),
    tcpAccepts(dashboard.host, dashboard.port, 1_000),
  ]);
  let version: string | undefined;
  if (dockerOk) version = await docker.version().then((v) => v.Version, () => undefined);
  const wpid = workerPid(paths);
  return {
    home: paths.home,
    docker: { host: dockerHost(), ok: dockerOk, version },
    temporal: {
      address: cfg.address,
      ui: cfg.ui,
      external: cfg.external,
      pid: livePid(temporalPidFile(paths), TEMPORAL_ROLE),
      ok: temporalOk,
    },
    worker: { pid: wpid, ok: wpid !== undefined },
    prometheus: { url: prometheus.url, pid: livePid(prometheusPidFile(paths), PROMETHEUS_ROLE), ok: prometheusOk },
    dashboard: { url: dashboard.url, pid: dashboardPid(paths), ok: dashboardOk },
  };
}
