/** Real-engine test plumbing: temp state dir, in-process or child workers, CLI runs, Docker look-ups. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { localInventory } from '../../activities/hosts/inventory';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Client } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { TEST_RUN_ENV, removeClusterResources } from '../../activities/docker';
import { LABEL_CLUSTER, LABEL_ROLE, LABEL_TEST_RUN } from '../../common/labels';
import { TASK_QUEUE } from '../../common/task-queues';
import { REPOSITORY_HOST_ROLE, removeRepositoryHost } from '../../activities/repository-host/host';
import { workflowIds } from '../../common/workflow-ids';
import { clusterNameKey } from '../../common/search-attributes';
import type { ConnectionInfo, CreateClusterInput } from '../../common/spec';
import { clusterFootprint } from '../../activities/cluster';
import { startTestTemporal } from './temporal';
import { PROJECT_ROOT, resolvePaths, type Paths } from '../../common/paths';
import { WORKFLOW_BUNDLE_PATH } from '../../worker/run';
import { keepAliveOptions } from '../../worker/keep-alive';
import { DEFAULT_POSTGRES_VERSION } from '../../common/postgres-version';

/** Test clusters are named t-<random>-<x>. Leftovers are found by their test-run label, never by this prefix. */
export const TEST_PREFIX = 't-';
/**
 * Keep test clusters' host ports away from a developer's own clusters (which start at 15432)
 * and below the kernel's ephemeral range (32768+ on Linux), where outgoing connections take ports.
 * DBAAS_TEST_PORT_BASE moves them, so two test runs on one machine (developers working side by
 * side) never race for the same block.
 */
export const TEST_PORT_BASE = process.env.DBAAS_TEST_PORT_BASE ?? '28432';

/**
 * This test process's run, the value of the label its workers put on every Docker resource
 * (DBAAS_TEST_RUN): its pid, to tell whether the run still goes, and a random part, since pids
 * are reused.
 */
export const TEST_RUN = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;

/**
 * Checkouts from before test-run labels remove any t-* cluster without a live owner file here;
 * recording ours keeps such a run, side by side with this one, off this run's clusters.
 */
const LEGACY_OWNERS_DIR = path.join(os.tmpdir(), 'dbaas-test-owners');

export function testClusterName(suffix: string): string {
  const name = `${TEST_PREFIX}${crypto.randomBytes(3).toString('hex')}-${suffix}`;
  fs.mkdirSync(LEGACY_OWNERS_DIR, { recursive: true });
  fs.writeFileSync(path.join(LEGACY_OWNERS_DIR, name), String(process.pid));
  return name;
}

/** Whether the test run that labelled a resource still goes: this one, or another live test process. */
export function testRunAlive(run: string): boolean {
  if (run === TEST_RUN) return true;
  const pid = Number(run.split('-')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    // A dead process's /proc entry lingers briefly on this machine; a zombie has no environ.
    return fs.readFileSync(`/proc/${pid}/environ`).length > 0;
  } catch {
    return false;
  }
}

export function tempPaths(): Paths {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-test-'));
  return resolvePaths({ ...process.env, DBAAS_HOME: home });
}

/** Each cluster's test-run labels, one per container, network and volume ('' where one has none). */
async function testRunsByCluster(docker: Docker): Promise<Map<string, string[]>> {
  const filters = { label: [LABEL_CLUSTER] };
  const [cs, ns, vs] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const runs = new Map<string, string[]>();
  for (const l of [...cs.map((c) => c.Labels), ...ns.map((n) => n.Labels), ...(vs.Volumes ?? []).map((v) => v.Labels)]) {
    const cluster = l?.[LABEL_CLUSTER];
    if (cluster) runs.set(cluster, [...(runs.get(cluster) ?? []), l[LABEL_TEST_RUN] ?? '']);
  }
  return runs;
}

/**
 * Remove the clusters an ended test run left behind: every resource of the cluster carries a
 * test-run label and none of those runs still goes. A cluster with any resource without the
 * label is someone's own, whatever its name (a user's `t-orders` survives the tests).
 */
export async function removeLeftoverTestClusters(docker: Docker): Promise<string[]> {
  const removed: string[] = [];
  for (const [cluster, runs] of await testRunsByCluster(docker)) {
    if (runs.every((run) => run !== '' && !testRunAlive(run))) {
      await removeClusterResources(docker, cluster, { data: false, backups: false }, 1);
      removed.push(cluster);
    }
  }
  // Repository hosts of ended test runs (each test run's control plane has its own): container, network, volume.
  const host = { label: [`${LABEL_ROLE}=${REPOSITORY_HOST_ROLE}`, LABEL_TEST_RUN] };
  const [hcs, hns, hvs] = await Promise.all([docker.listContainers({ all: true, filters: host }), docker.listNetworks({ filters: host }), docker.listVolumes({ filters: host })]);
  const ended = (l: Record<string, string> | null | undefined): boolean => !testRunAlive(l?.[LABEL_TEST_RUN] ?? '');
  for (const c of hcs.filter((x) => ended(x.Labels))) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const n of hns.filter((x) => ended(x.Labels))) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  for (const v of (hvs.Volumes ?? []).filter((x) => ended(x.Labels))) await docker.getVolume(v.Name).remove().catch(() => undefined);
  return removed;
}

export async function inProcessWorker(env: TestWorkflowEnvironment, paths: Paths, docker: Docker): Promise<Worker> {
  process.env.DBAAS_PORT_BASE = TEST_PORT_BASE;
  process.env[TEST_RUN_ENV] = TEST_RUN;
  return Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities: createActivities({ docker, paths }),
    ...keepAliveOptions,
  });
}

/** Environment for child processes (CLI, worker) pointed at the test's Temporal and state dir. */
export function childEnv(env: Pick<TestWorkflowEnvironment, 'address'>, paths: Paths): NodeJS.ProcessEnv {
  return { ...process.env, TEMPORAL_ADDRESS: env.address, DBAAS_HOME: paths.home, DBAAS_PORT_BASE: TEST_PORT_BASE, [TEST_RUN_ENV]: TEST_RUN, CI: '1' };
}

/** `extra`: more environment for the worker (the rebuild test names another member image tag). */
export function startChildWorker(env: Pick<TestWorkflowEnvironment, 'address'>, paths: Paths, logFile: string, extra: NodeJS.ProcessEnv = {}): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  return spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js')], {
    env: { ...childEnv(env, paths), ...extra },
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

/** Run one SQL text on a cluster as a client would: the URI from `dbaas connect` (plus its options, e.g. --ro). */
export async function queryCluster<T extends Record<string, unknown>>(env: NodeJS.ProcessEnv, cluster: string, text: string, connectArgs: string[] = []): Promise<T[]> {
  const uri = (await runCli(['connect', cluster, ...connectArgs], env)).stdout.trim();
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

/** A running member's address on its cluster network, through the inventory the worker uses. */
export const memberIp = async (docker: Docker, cluster: string, member: string): Promise<string | undefined> => (await localInventory(docker).member(cluster, member))?.ip ?? undefined;

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

export interface IntegrationEnv {
  env: TestWorkflowEnvironment;
  paths: Paths;
  /**
   * Run CreateCluster through Temporal with the cluster's search attribute, as the CLI does, and
   * the CLI's defaults: its PostgreSQL version unless the input names one, and its repository
   * (the repository host) unless the input names one or has no backups.
   */
  createCluster(input: CreateClusterInput): Promise<ConnectionInfo>;
  /**
   * Delete (through the CLI, backups too) whichever of these clusters still has anything, then
   * remove the run's repository host and stop the worker and Temporal.
   */
  stop(clusters: string[]): Promise<void>;
}

/** A Temporal dev server of the test's own, a temp state dir and an in-process worker with the real activities. */
export async function startIntegration(docker: Docker): Promise<IntegrationEnv> {
  await removeLeftoverTestClusters(docker);
  const env = await startTestTemporal();
  const paths = tempPaths();
  const worker = await inProcessWorker(env, paths, docker);
  const running = worker.run();
  return {
    env,
    paths,
    createCluster: (input) =>
      env.client.workflow.execute('createCluster', {
        taskQueue: TASK_QUEUE,
        workflowId: workflowIds.createCluster(input.name),
        args: [{ postgresVersion: DEFAULT_POSTGRES_VERSION, ...(input.backups === false || input.backupTo ? input : { ...input, backupTo: { location: { type: 'host' } } }) }],
        typedSearchAttributes: [{ key: clusterNameKey, value: input.name }],
      }),
    async stop(clusters) {
      // At once: each delete is its own cluster's workflow, mostly waiting for containers to stop.
      await Promise.all(clusters.map(async (c) => {
        const f = await clusterFootprint(localInventory(docker), c);
        if (f.containers + f.networks + f.volumes > 0) await runCli(['cluster', 'delete', c, '--purge-backups', '--yes'], childEnv(env, paths));
      }));
      await removeRepositoryHost(docker, paths);
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/**
 * A cluster made by CreateCluster straight through the test's Temporal (the worker is the test's,
 * often a child process it kills later); returns its HAProxy stats port.
 */
export async function createClusterDirectly(env: Pick<TestWorkflowEnvironment, 'client'>, input: Omit<CreateClusterInput, 'postgresVersion'>): Promise<{ statsPort: number }> {
  const info = await env.client.workflow.execute('createCluster', {
    taskQueue: TASK_QUEUE,
    workflowId: workflowIds.createCluster(input.name),
    args: [{ postgresVersion: DEFAULT_POSTGRES_VERSION, ...input }],
    typedSearchAttributes: [{ key: clusterNameKey, value: input.name }],
  });
  return { statsPort: (info as { ports: { stats: number } }).ports.stats };
}
