/**
 * What the worker exports to Prometheus: the Temporal SDK's own metrics (Core's Prometheus
 * exporter, 127.0.0.1:9464/metrics, DBAAS_SDK_METRICS_ADDRESS) and dbaas's facts
 * (./facts.ts, 127.0.0.1:9465/metrics, DBAAS_FACTS_ADDRESS). `off` turns either off; a port
 * another process holds (a second worker on this machine) turns it off with one line, never the
 * worker.
 */
import * as net from 'node:net';
import { Runtime } from '@temporalio/worker';
import { formatListenAddress, parseListenAddress, type ListenAddress } from '../common/listen-address';
import { startFactsServer, type FactsDeps } from './facts';

export const SDK_METRICS_ENV = 'DBAAS_SDK_METRICS_ADDRESS';
export const FACTS_ENV = 'DBAAS_FACTS_ADDRESS';
export const DEFAULT_SDK_METRICS_ADDRESS = '127.0.0.1:9464';
export const DEFAULT_FACTS_ADDRESS = '127.0.0.1:9465';

type Log = (line: string) => void;

function addressOf(env: string, fallback: string, log: Log): ListenAddress | undefined {
  const a = parseListenAddress(process.env[env], fallback);
  if (a === 'off') return undefined;
  if ('problem' in a) {
    log(`${env}: ${a.problem}; that endpoint is off`);
    return undefined;
  }
  return a;
}

/** Whether nothing listens at the address now (Core would fail to bind it later, not here). */
function bindable(a: ListenAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(a.port, a.host, () => s.close(() => resolve(true)));
  });
}

/** Before anything else of the SDK runs: the Runtime is made once, by its first user. */
export async function installSdkMetrics(log: Log): Promise<void> {
  const at = addressOf(SDK_METRICS_ENV, DEFAULT_SDK_METRICS_ADDRESS, log);
  if (!at) return;
  if (!(await bindable(at))) {
    log(`Temporal SDK metrics off: ${formatListenAddress(at)} is in use`);
    return;
  }
  try {
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: formatListenAddress(at) } } } });
  } catch (err) {
    // Something in this process made the Runtime first: it runs on without the exporter.
    log(`Temporal SDK metrics off: ${(err as Error).message}`);
    return;
  }
  log(`Temporal SDK metrics on http://${formatListenAddress(at)}/metrics`);
}

export async function serveFactsIfOn(d: FactsDeps, log: Log): Promise<void> {
  const at = addressOf(FACTS_ENV, DEFAULT_FACTS_ADDRESS, log);
  if (!at) return;
  try {
    await startFactsServer(at, d);
    log(`dbaas facts on http://${formatListenAddress(at)}/metrics`);
  } catch (err) {
    log(`dbaas facts off: ${formatListenAddress(at)}: ${(err as Error).message}`);
  }
}
