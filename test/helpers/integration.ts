/** Real-engine test plumbing: temp state dir, in-process or child workers, CLI runs, Docker look-ups. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { removeClusterResources } from '../../activities/docker';
import { LABEL_CLUSTER, TASK_QUEUE } from '../../common/names';
import { PROJECT_ROOT, resolvePaths, type Paths } from '../../common/paths';
import { WORKFLOW_BUNDLE_PATH } from '../../worker/run';

/** Test clusters are named t-<random>-<x>; leftovers from an interrupted run are removed by this prefix. */
export const TEST_PREFIX = 't-';
/** Keep test clusters' host ports away from a developer's own clusters (which start at 15432). */
export const TEST_PORT_BASE = '35432';

export function testClusterName(suffix: string): string {
  return `${TEST_PREFIX}${crypto.randomBytes(3).toString('hex')}-${suffix}`;
}

export function tempPaths(): Paths {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-test-'));
  return resolvePaths({ ...process.env, DBAAS_HOME: home });
}

export async function removeLeftoverTestClusters(docker: Docker): Promise<void> {
  const [cs, ns, vs] = await Promise.all([
    docker.listContainers({ all: true, filters: { label: [LABEL_CLUSTER] } }),
    docker.listNetworks({ filters: { label: [LABEL_CLUSTER] } }),
    docker.listVolumes({ filters: { label: [LABEL_CLUSTER] } }),
  ]);
  const names = new Set<string>();
  for (const c of cs) names.add(c.Labels[LABEL_CLUSTER]);
  for (const n of ns) names.add(n.Labels?.[LABEL_CLUSTER] ?? '');
  for (const v of vs.Volumes ?? []) names.add(v.Labels?.[LABEL_CLUSTER] ?? '');
  for (const n of names) if (n.startsWith(TEST_PREFIX)) await removeClusterResources(docker, n, false, 1);
}

export async function inProcessWorker(env: TestWorkflowEnvironment, paths: Paths, docker: Docker): Promise<Worker> {
  process.env.DBAAS_PORT_BASE = TEST_PORT_BASE;
  return Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities: createActivities({ docker, paths }),
  });
}

/** Environment for child processes (CLI, worker) pointed at the test's Temporal and state dir. */
export function childEnv(env: TestWorkflowEnvironment, paths: Paths): NodeJS.ProcessEnv {
  return { ...process.env, TEMPORAL_ADDRESS: env.address, DBAAS_HOME: paths.home, DBAAS_PORT_BASE: TEST_PORT_BASE, CI: '1' };
}

export function startChildWorker(env: TestWorkflowEnvironment, paths: Paths, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  return spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js')], {
    env: childEnv(env, paths),
    stdio: ['ignore', out, out],
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'dbaas.js'), ...args], { env, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Containers of a cluster grouped by member label. */
export async function containersByMember(docker: Docker, cluster: string): Promise<Map<string, number>> {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${cluster}`] } });
  const m = new Map<string, number>();
  for (const c of cs) {
    const member = c.Labels['dbaas.member'] ?? c.Labels['dbaas.role'];
    m.set(member, (m.get(member) ?? 0) + 1);
  }
  return m;
}
