/**
 * `dbaas worker` / `node dist/worker/main.js`: run the worker in the foreground until SIGINT/SIGTERM.
 * On the control machine it polls the shared queue (workflows and activities) and the queue of host
 * `local`; `--host NAME` (or DBAAS_HOST) runs only the worker of that host, on the host's machine.
 * Each exports the Temporal SDK's metrics; the control machine's also dbaas's facts (./telemetry.ts).
 */
import Docker from 'dockerode';
import { Client } from '@temporalio/client';
import { createHostWorker, createWorker } from './run';
import { installSdkMetrics, serveFactsIfOn } from './telemetry';
import { machineInventory } from '../activities/hosts/registry';
import { LOCAL_HOST } from '../common/inventory';
import { resolvePaths } from '../common/paths';
import { temporalConfig } from '../common/temporal-config';

async function main(o: { host?: string } = {}): Promise<void> {
  const cfg = temporalConfig();
  const taskQueue = process.env.DBAAS_TASK_QUEUE;
  const host = o.host ?? process.env.DBAAS_HOST;
  const log = (line: string): void => console.log(`dbaas worker: ${line}`);
  await installSdkMetrics(log);
  const shared = host === undefined || host === LOCAL_HOST ? await createWorker({ taskQueue }) : undefined;
  const own = await createHostWorker({ taskQueue, host: host ?? LOCAL_HOST, ...(shared ? { connection: shared.connection } : {}) });
  const queues = [shared?.worker.options.taskQueue, own.worker.options.taskQueue].filter(Boolean).join(' and ');
  console.log(`dbaas worker: task queue ${queues}, Temporal ${cfg.address} namespace ${cfg.namespace}, pid ${process.pid}`);
  if (shared) {
    const paths = resolvePaths();
    const client = new Client({ connection: shared.connection, namespace: cfg.namespace });
    await serveFactsIfOn({ inventory: machineInventory(paths, new Docker()), paths, client }, log);
  }
  try {
    // The SDK's Runtime shuts both workers down gracefully on SIGINT/SIGTERM.
    await Promise.all([shared?.worker.run(), own.worker.run()]);
  } finally {
    await own.connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`dbaas worker: ${(err as Error).message}`);
    process.exit(1);
  });
}

export { main as runWorkerMain };
