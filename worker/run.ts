/** Build and run a worker: real Temporal connection, real Docker, the project's activities. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { TASK_QUEUE, hostTaskQueue } from '../common/task-queues';
import type { HostName } from '../common/inventory';
import { Inventory } from '../activities/hosts/inventory';
import { LocalEngine } from '../activities/hosts/local-engine';
import { machineInventory, readHosts } from '../activities/hosts/registry';
import { resolvePaths, type Paths } from '../common/paths';
import { temporalConfig } from '../common/temporal-config';
import { keepAliveOptions } from './keep-alive';

export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '..', 'workflow-bundle.js');
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows');

/** Prefer the bundle built by `npm run build` (fast start); fall back to bundling at start. */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (fs.existsSync(WORKFLOW_BUNDLE_PATH)) return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
  return { workflowsPath: require.resolve(WORKFLOWS_PATH) };
}

export interface WorkerSetup {
  taskQueue?: string;
  paths?: Paths;
  docker?: Docker;
  connection?: NativeConnection;
  namespace?: string;
}

export async function createWorker(setup: WorkerSetup = {}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const cfg = temporalConfig();
  const connection = setup.connection ?? (await NativeConnection.connect({ address: cfg.address, tls: cfg.tls }));
  const worker = await Worker.create({
    connection,
    namespace: setup.namespace ?? cfg.namespace,
    taskQueue: setup.taskQueue ?? TASK_QUEUE,
    ...workflowSource(),
    // Every host whose engine this machine reaches (the local one, simulated hosts): the control worker reads them all.
    activities: createActivities({ inventory: machineInventory(setup.paths ?? resolvePaths(), setup.docker ?? new Docker()), paths: setup.paths ?? resolvePaths() }),
    ...keepAliveOptions,
  });
  return { worker, connection };
}

/**
 * The worker of one host, as in Temporal's worker-specific-task-queues sample: no workflows, and
 * the activities over that host's engine only (DOCKER_HOST on that machine), on the host's own
 * queue. Steps sent there carry a schedule-to-close timeout: when the host is gone, nothing else
 * can run them.
 */
export async function createHostWorker(setup: WorkerSetup & { host: HostName }): Promise<{ worker: Worker; connection: NativeConnection }> {
  const cfg = temporalConfig();
  const connection = setup.connection ?? (await NativeConnection.connect({ address: cfg.address, tls: cfg.tls }));
  const paths = setup.paths ?? resolvePaths();
  // Its address, where its front door publishes: what its own HAProxy steps check (the stats
  // port), as clients reach it. From the registry (`host add --address`); none for `local`.
  const address = readHosts(paths).find((h) => h.name === setup.host)?.address;
  const inventory = new Inventory([new LocalEngine(setup.host, setup.docker ?? new Docker(), address)]);
  const worker = await Worker.create({
    connection,
    namespace: setup.namespace ?? cfg.namespace,
    taskQueue: hostTaskQueue(setup.taskQueue ?? TASK_QUEUE, setup.host),
    activities: createActivities({ inventory, paths }),
    ...keepAliveOptions,
  });
  return { worker, connection };
}
