/**
 * A Temporal server restarted in the middle of an operation must not matter. The test runs its
 * own `temporal server start-dev` on a SQLite file (as `dbaas dev up` does), starts `cluster
 * create` through the CLI, SIGKILLs the server while the replicas are being waited for, starts
 * it again on the same file a few seconds later, and expects the CLI (still following) and the
 * worker (still polling) to carry on: exit 0, one container per member, each member started once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { portBoundLocally } from '../../activities/ports';
import { PROJECT_ROOT, type Paths } from '../../common/paths';
import { PROGRESS_QUERY, type Progress } from '../../common/progress';
import { SEARCH_ATTRIBUTE_CLUSTER } from '../../common/search-attributes';
import { workflowIds } from '../../common/workflow-ids';
import { temporalBinary } from '../helpers/temporal';
import { TEMPORAL_SQLITE_PRAGMAS } from '../../client/dev/temporal';
import { waitForExit, withDeadline } from '../helpers/deadline';
import {
  childEnv, containersByMember, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, testClusterName,
} from '../helpers/integration';

/** Below the kernel's ephemeral range, so the ports are still free when the server comes back. */
const GRPC_PORT = 27233;
const HTTP_PORT = 27234;
const METRICS_PORT = 27235;
const address = `127.0.0.1:${GRPC_PORT}`;
/** The CLI as `dev up`'s users run it: over the server's HTTP API (it follows the create across the restart). */
const cliEnv = (): NodeJS.ProcessEnv => ({ ...childEnv({ address }, paths), TEMPORAL_HTTP_ADDRESS: `127.0.0.1:${HTTP_PORT}` });

const docker = new Docker();
const C = testClusterName('tsrv');
let paths: Paths;
let server: ChildProcess | undefined;
let worker: ChildProcess | undefined;
let connection: Connection | undefined;

async function startServer(): Promise<ChildProcess> {
  const log = fs.openSync(path.join(paths.home, 'temporal.log'), 'a');
  const child = spawn(temporalBinary(), [
    'server', 'start-dev', '--headless', '--db-filename', path.join(paths.home, 'temporal.db'), ...TEMPORAL_SQLITE_PRAGMAS,
    '--ip', '127.0.0.1', '--port', String(GRPC_PORT), '--http-port', String(HTTP_PORT), '--metrics-port', String(METRICS_PORT),
    '--search-attribute', `${SEARCH_ATTRIBUTE_CLUSTER}=Keyword`, '--log-level', 'warn',
  ], { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 60_000;
  while (!(await portBoundLocally(GRPC_PORT))) {
    assert.ok(Date.now() < deadline && child.exitCode === null, 'the Temporal server did not start (see temporal.log)');
    await new Promise((r) => setTimeout(r, 200));
  }
  return child;
}

before(async () => {
  await removeLeftoverTestClusters(docker);
  paths = tempPaths();
  for (const p of [GRPC_PORT, HTTP_PORT, METRICS_PORT]) assert.ok(!(await portBoundLocally(p)), `port ${p} is taken`);
  server = await startServer();
  worker = startChildWorker({ address }, paths, path.join(paths.home, 'worker.log'));
});

after(async () => {
  if (server?.exitCode === null) await runCli(['cluster', 'delete', C, '--purge-backups', '--yes'], cliEnv());
  worker?.kill('SIGTERM');
  await connection?.close();
  server?.kill('SIGTERM');
});

test('SIGKILL of the Temporal server while CreateCluster waits for the replicas: after its restart the create ends, one container per member', async () => {
  const e = cliEnv();
  const cli = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'dbaas.js'), 'cluster', 'create', C, '--replicas', '2', '--profile', 'default'], { env: e });
  let output = '';
  cli.stdout.on('data', (d) => (output += String(d)));
  cli.stderr.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));

  connection = await Connection.connect({ address });
  const handle = new Client({ connection }).workflow.getHandle(workflowIds.createCluster(C));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const p = await handle.query<Progress>(PROGRESS_QUERY).catch(() => undefined);
    if (p?.steps.some((s) => s.name === 'wait for pg-1 streaming' && s.state === 'running')) break;
    assert.ok(Date.now() < deadline, `the wait for the replicas never started:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const running = server!;
  running.kill('SIGKILL');
  await waitForExit(running, 30_000, 'the SIGKILLed Temporal server did not exit');
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 5000));
  server = await startServer();

  // The create itself takes about a minute; a CLI still following after 5 minutes is stuck.
  let code: number | null;
  try {
    code = await withDeadline(exited, 300_000, () => `the CLI did not exit after the server's restart:\n${output}`);
  } finally {
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGTERM');
  }
  console.log(`create finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the server's SIGKILL (5 s of it down)`);
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`cluster ${C}: leader pg-\\d, members pg-0, pg-1, pg-2`));
  assert.deepEqual(
    Object.fromEntries([...(await containersByMember(docker, C))].sort()),
    { 'etcd-0': 1, haproxy: 1, metrics: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 },
  );
  const history = await handle.fetchHistory();
  const started = (history.events ?? []).filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'startPostgresMember');
  // A count of schedules: the workflow asked for each member once (containers are counted above).
  assert.equal(started.length, 3, 'the workflow asked to start each member once');
  const status = await runCli(['cluster', 'status', C, '--json'], e);
  assert.equal(status.code, 0, status.stderr);
});
