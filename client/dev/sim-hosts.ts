/**
 * `dbaas dev hosts up N | down`: simulated hosts on this machine (scripts/sim-hosts.sh: a dockerd
 * per network namespace, joined into a swarm managed by h1), each added as a dbaas host with its
 * own worker running inside its namespace, as a worker would run on a real machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, type Paths } from '../../common/paths';
import { temporalConfig } from '../../common/temporal-config';
import { addHost, readHosts, removeHost } from '../../activities/hosts/registry';
import { livePid, runLogged, sleep, spawnDetached, stopPidFile, tailFile } from './process-util';
import { DEFAULT_WORKER_SCRIPT } from './worker-process';
import type { Log } from './types';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'sim-hosts.sh');
/** The root namespace's address on the hosts' shared bridge: where they reach this machine's loopback services. */
const GATEWAY = '10.77.0.1';
const SETTLE_MS = 1_500;

export const simDir = (env: NodeJS.ProcessEnv = process.env): string => env.DBAAS_SIM_DIR ?? '/var/lib/dbaas-sim';
const simHostName = (k: number): string => `h${k}`;
const simAddress = (k: number): string => `10.77.0.${10 + k}`;
const simSocket = (host: string): string => path.join(simDir(), host, 'docker.sock');
const workerRole = (host: string): string => `worker-${host}`;
const workerPidFile = (paths: Paths, host: string): string => path.join(paths.run, `worker-${host}.pid`);
const workerLog = (paths: Paths, host: string): string => path.join(paths.logs, `worker-${host}.log`);
const scriptLog = (paths: Paths): string => path.join(paths.logs, 'sim-hosts.log');

/** The added hosts that are simulated hosts of this machine (their socket lies in the sim directory). */
export const simulatedHosts = (paths: Paths): string[] =>
  readHosts(paths).filter((h) => h.docker.startsWith(`unix://${simDir()}/`)).map((h) => h.name);

/** The worker of a simulated host, inside its namespace: its engine's socket, Temporal through the gateway. */
async function startHostWorker(paths: Paths, host: string, temporalPort: string): Promise<number> {
  await stopPidFile(workerPidFile(paths, host), workerRole(host), 15_000);
  const pid = await spawnDetached('nsenter', [`--net=/run/netns/dbaas-${host}`, process.execPath, DEFAULT_WORKER_SCRIPT], {
    role: workerRole(host),
    logFile: workerLog(paths, host),
    pidFile: workerPidFile(paths, host),
    cwd: PROJECT_ROOT,
    env: { ...process.env, DBAAS_HOST: host, DOCKER_HOST: `unix://${simSocket(host)}`, TEMPORAL_ADDRESS: `${GATEWAY}:${temporalPort}` },
  });
  await sleep(SETTLE_MS);
  if (livePid(workerPidFile(paths, host), workerRole(host)) !== pid) {
    throw new Error(`the worker of ${host} exited right after start; see ${workerLog(paths, host)}:\n${tailFile(workerLog(paths, host))}`);
  }
  return pid;
}

export async function devHostsUp(paths: Paths, count: number, log: Log): Promise<void> {
  const cfg = temporalConfig();
  const [temporalHost, temporalPort] = cfg.address.split(':');
  if (!['127.0.0.1', 'localhost'].includes(temporalHost)) {
    throw new Error(`simulated hosts reach Temporal through ${GATEWAY}, which offers this machine's loopback only; TEMPORAL_ADDRESS is ${cfg.address}`);
  }
  const started = Date.now();
  // Temporal's port, and any other loopback port DBAAS_SIM_LOOPBACK_PORTS names (an S3 server of this machine's, say).
  const offered = [temporalPort, ...(process.env.DBAAS_SIM_LOOPBACK_PORTS ?? '').split(/\s+/).filter((p) => /^\d+$/.test(p) && p !== temporalPort)];
  await runLogged('bash', [SCRIPT, 'up', String(count)], scriptLog(paths), { ...process.env, DBAAS_SIM_LOOPBACK_PORTS: offered.join(' '), DBAAS_SIM_NODE: process.execPath });
  log(`✓ ${count} simulated host(s) (${((Date.now() - started) / 1000).toFixed(1)}s; ${scriptLog(paths)})`);
  const known = new Set(readHosts(paths).map((h) => h.name));
  for (let k = 1; k <= count; k++) {
    const host = simHostName(k);
    if (!known.has(host)) await addHost(paths, { name: host, docker: `unix://${simSocket(host)}`, address: simAddress(k), zone: `zone-${k}` });
    const pid = await startHostWorker(paths, host, temporalPort);
    log(`✓ host ${host} ${simAddress(k)} zone-${k}, worker pid ${pid}`);
  }
}

/** Stop every simulated host's worker, also of a host removed with `host remove` since. */
export async function stopSimHostWorkers(paths: Paths, log: Log): Promise<void> {
  const pidFiles = fs.existsSync(paths.run) ? fs.readdirSync(paths.run).filter((f) => /^worker-h\d+\.pid$/.test(f)) : [];
  for (const f of pidFiles) {
    const host = f.slice('worker-'.length, -'.pid'.length);
    const pid = await stopPidFile(workerPidFile(paths, host), workerRole(host), 15_000);
    if (pid !== undefined) log(`✓ stopped the worker of ${host} (pid ${pid})`);
  }
}

/** `dev up`: the simulated hosts that are up get a worker on the code just built, as the control worker does. */
export async function restartSimHostWorkers(paths: Paths, log: Log): Promise<void> {
  const port = temporalConfig().address.split(':')[1];
  for (const host of simulatedHosts(paths)) {
    if (!fs.existsSync(`/run/netns/dbaas-${host}`) || !fs.existsSync(simSocket(host))) continue;
    log(`✓ worker of host ${host} (pid ${await startHostWorker(paths, host, port)})`);
  }
}

export async function devHostsDown(paths: Paths, log: Log): Promise<void> {
  for (const host of simulatedHosts(paths)) {
    await removeHost(paths, host);
    log(`✓ host ${host} removed`);
  }
  await stopSimHostWorkers(paths, log);
  if (fs.existsSync(simDir())) await runLogged('bash', [SCRIPT, 'down'], scriptLog(paths));
  log('✓ simulated hosts down');
}
