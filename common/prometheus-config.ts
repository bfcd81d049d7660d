/**
 * Where the local Prometheus listens (`dev up` starts it, the dashboard asks it) and where the
 * worker's own metrics are. Always loopback: nothing of it is published to other machines.
 * DBAAS_PROMETHEUS_PORT moves it off 9090 (taken, e.g., by Debian's own prometheus service).
 */
export const PROMETHEUS_HOST = '127.0.0.1';
export const DEFAULT_PROMETHEUS_PORT = 9090;

/** The worker's dbaas facts (backups, volumes) and its Temporal SDK metrics, scraped as static targets. */
export const WORKER_FACTS_ADDRESS = '127.0.0.1:9465';
export const WORKER_SDK_METRICS_ADDRESS = '127.0.0.1:9464';

export interface PrometheusEndpoint {
  host: string;
  port: number;
  /** http://127.0.0.1:9090 */
  url: string;
}

export function prometheusEndpoint(env: NodeJS.ProcessEnv = process.env): PrometheusEndpoint {
  const raw = env.DBAAS_PROMETHEUS_PORT;
  const port = raw === undefined || raw === '' ? DEFAULT_PROMETHEUS_PORT : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`DBAAS_PROMETHEUS_PORT=${raw} is not a port (an integer from 1 to 65535)`);
  }
  return { host: PROMETHEUS_HOST, port, url: `http://${PROMETHEUS_HOST}:${port}` };
}
