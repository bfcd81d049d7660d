/** A Temporal dev server of the test's own (createLocal with the cached CLI binary) and workers on it. */
import * as net from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { resolvePaths } from '../../common/paths';
import { findTemporalBinary } from '../../client/dev/temporal';
import { clusterNameKey } from '../../common/search-attributes';
import { WORKFLOW_BUNDLE_PATH } from '../../worker/run';
import { keepAliveOptions } from '../../worker/keep-alive';
import { createLeaseActivities } from '../../activities/lease';

let runtimeInstalled = false;

export function temporalBinary(): string {
  const bin = findTemporalBinary(resolvePaths());
  if (!bin) throw new Error('no temporal CLI binary: run `npx dbaas dev up --no-worker` (or scripts/test.sh) first');
  return bin;
}

/** A port nothing listens on now (the server binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The server listens on an HTTP API port too, as `dbaas dev up`'s does, and TEMPORAL_HTTP_ADDRESS
 * names it for the CLI this process and its children run (childEnv copies the environment):
 * `cluster status` reads the lease there.
 */
export async function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const httpPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      searchAttributes: [clusterNameKey],
      extraArgs: ['--http-port', String(httpPort)],
    },
  });
  process.env.TEMPORAL_HTTP_ADDRESS = `127.0.0.1:${httpPort}`;
  return env;
}

/**
 * A worker running the prebuilt workflow bundle (built once by `npm run build`). The lease's
 * activities are the real ones under any fakes: they only speak to the test's Temporal, and every
 * operation takes its cluster's lease through them.
 */
export async function createTestWorker(
  env: TestWorkflowEnvironment, taskQueue: string, activities: object, opts: { keepAlive?: boolean } = {},
): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities: { ...createLeaseActivities(), ...activities },
    ...(opts.keepAlive === false ? {} : keepAliveOptions),
  });
}
