/** A Temporal dev server of the test's own (createLocal with the cached CLI binary) and workers on it. */
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

export async function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      searchAttributes: [clusterNameKey],
    },
  });
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
