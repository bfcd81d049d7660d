/** Bundle the workflows once at build time so workers start in about a second instead of re-running webpack. */
import * as fs from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from '../worker/run';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve(WORKFLOWS_PATH), logger: quietLogger });
  fs.writeFileSync(WORKFLOW_BUNDLE_PATH, code);
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop };

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
