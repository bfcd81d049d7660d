/**
 * A Prometheus of the test's own, as test/helpers/temporal.ts starts a Temporal: Debian's binary
 * (`dbaas dev up --no-server` installs it), a free port on 127.0.0.1, its own configuration and
 * data directory, reading the target files the test's worker publishes (paths.scrapeTargets of
 * the test's home) and the shipped alert rules.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROMETHEUS_HOST, type PrometheusEndpoint } from '../../common/prometheus-config';
import {
  RULES_FILE, findPrometheusBinaries, prometheusArgs, waitForPrometheusReady, writePrometheusConfig,
} from '../../client/dev/prometheus';
import { renderPrometheusConfig, type StaticTarget } from '../../client/dev/prometheus-yml';

export interface ActiveTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface FiringAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

export interface TestPrometheus extends PrometheusEndpoint {
  /** Where it reads `<cluster>.json` (the worker's paths.scrapeTargets). */
  targetsDir: string;
  /** `data` of GET /api/v1/<query>, e.g. `query?query=up`. */
  api<T>(query: string): Promise<T>;
  activeTargets(): Promise<ActiveTarget[]>;
  /** Pending and firing alerts. */
  alerts(): Promise<FiringAlert[]>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** A port nothing listens on at 127.0.0.1 now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, PROMETHEUS_HOST, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function prometheusSkipReason(): string | undefined {
  return findPrometheusBinaries() === undefined ? 'no prometheus binary: run `npx dbaas dev up --no-server` (Debian package prometheus)' : undefined;
}

/**
 * intervalS: scrape and evaluation interval (the rules' `for` periods assume 10 s, the default).
 * staticTargets: none by default (the dev worker's endpoints are not the test's).
 */
export async function startTestPrometheus(o: { targetsDir: string; intervalS?: number; staticTargets?: StaticTarget[] }): Promise<TestPrometheus> {
  const bins = findPrometheusBinaries();
  if (bins === undefined) throw new Error(prometheusSkipReason());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  const logFile = path.join(dir, 'prometheus.log');
  fs.mkdirSync(o.targetsDir, { recursive: true });
  const content = renderPrometheusConfig({ targetsDir: o.targetsDir, ruleFiles: [RULES_FILE], staticTargets: o.staticTargets ?? [], intervalS: o.intervalS });
  await writePrometheusConfig(config, content, bins.promtool, logFile);
  const port = await freePort();
  const endpoint: PrometheusEndpoint = { host: PROMETHEUS_HOST, port, url: `http://${PROMETHEUS_HOST}:${port}` };
  const out = fs.openSync(logFile, 'a');
  const child = spawn(bins.prometheus, prometheusArgs(config, path.join(dir, 'data'), endpoint), { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let alive = true;
  void exited.then(() => { alive = false; });
  const stop = async (): Promise<void> => {
    if (alive) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPrometheusReady(endpoint, () => alive, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  const api = async <T>(query: string): Promise<T> => {
    const res = await fetch(`${endpoint.url}/api/v1/${query}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`GET /api/v1/${query}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    ...endpoint,
    targetsDir: o.targetsDir,
    api,
    activeTargets: async () => (await api<{ activeTargets: ActiveTarget[] }>('targets?state=active')).activeTargets,
    alerts: async () => (await api<{ alerts: FiringAlert[] }>('alerts')).alerts,
    stop,
  };
}
