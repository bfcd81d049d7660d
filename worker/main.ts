/** `dbaas worker` / `node dist/worker/main.js`: run the worker in the foreground until SIGINT/SIGTERM. */
import { createWorker } from './run';
import { temporalConfig } from '../common/temporal-config';

async function main(): Promise<void> {
  const cfg = temporalConfig();
  const taskQueue = process.env.DBAAS_TASK_QUEUE;
  const { worker, connection } = await createWorker({ taskQueue });
  console.log(`dbaas worker: task queue ${worker.options.taskQueue}, Temporal ${cfg.address} namespace ${cfg.namespace}, pid ${process.pid}`);
  try {
    // The SDK's Runtime shuts the worker down gracefully on SIGINT/SIGTERM.
    await worker.run();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`dbaas worker: ${(err as Error).message}`);
    process.exit(1);
  });
}

export { main as runWorkerMain };
