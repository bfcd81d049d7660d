/**
 * `dbaas dashboard [--port N]`: serves the read-only dashboard on 127.0.0.1 until Ctrl-C
 * (`dev up` runs it in the background). Charts and alerts come from Prometheus
 * (DBAAS_PROMETHEUS_URL, default the one `dev up` starts: http://127.0.0.1:9090, or
 * DBAAS_PROMETHEUS_PORT).
 */
import { resolvePaths } from '../../common/paths';
import { prometheusEndpoint } from '../../common/prometheus-config';
import { temporalConfig } from '../../common/temporal-config';
import { dashboardServer } from '../dashboard/server';
import { connectInventory, connectTemporal } from '../connections';
import { OperationError } from '../errors';
import type { Client } from '@temporalio/client';

export function prometheusUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.DBAAS_PROMETHEUS_URL || prometheusEndpoint(env).url).replace(/\/+$/, '');
}

export async function dashboardCommand(o: { port: number }): Promise<void> {
  let client: Promise<Client> | undefined;
  const server = dashboardServer({
    inventory: await connectInventory(),
    paths: resolvePaths(),
    temporal: temporalConfig(),
    // One connection, made on first use; a failed attempt is tried again on the next request.
    temporalClient: () => (client ??= connectTemporal().then((c) => c.client).catch((err: unknown) => {
      client = undefined;
      throw err;
    })),
    prometheus: prometheusUrl(),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new OperationError(`port ${o.port} on 127.0.0.1 is in use: pass --port`) : err));
    server.listen(o.port, '127.0.0.1', resolve);
  });
  console.log(`dashboard: http://127.0.0.1:${o.port}/ (Ctrl-C stops it)`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
