/** `dbaas dev up|down|status`: the local environment (Docker engine, images, Temporal, Prometheus, worker, dashboard). */
import { devDown, devStatus, devUp } from '../dev';
import { devHostsDown, devHostsUp } from '../dev/sim-hosts';
import { resolvePaths } from '../../common/paths';

const log = (line: string): void => console.log(line);

export async function devUpCommand(o: { worker: boolean; server: boolean }): Promise<void> {
  const s = await devUp({ log, startWorker: o.worker && o.server, startServer: o.server });
  if (!o.server) {
    console.log(`installed: Docker engine ${s.docker.ok ? 'up' : 'DOWN'}, images, Temporal CLI, Prometheus; no server started`);
    return;
  }
  console.log(`Temporal ${s.temporal.address}   Web UI ${s.temporal.ui}   worker pid ${s.worker.pid ?? 'not started'}`);
  console.log(`Prometheus ${s.prometheus.ok ? s.prometheus.url : 'not running'}`);
  console.log(`Dashboard ${s.dashboard.ok ? s.dashboard.url : 'not running'}`);
  console.log(`state: ${s.home}`);
}

export async function devDownCommand(o: { engine: boolean }): Promise<void> {
  await devDown({ log, engine: o.engine });
}

export async function devStatusCommand(o: { json: boolean }): Promise<void> {
  const s = await devStatus();
  if (o.json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  console.log(`docker:   ${s.docker.ok ? 'up' : 'DOWN'} ${s.docker.host}${s.docker.version ? ` (${s.docker.version})` : ''}`);
  console.log(`temporal: ${s.temporal.ok ? 'up' : 'DOWN'} ${s.temporal.address}  UI ${s.temporal.ui}${s.temporal.pid ? `  pid ${s.temporal.pid}` : ''}`);
  console.log(`worker:   ${s.worker.ok ? `up pid ${s.worker.pid}` : 'DOWN'}`);
  console.log(`prometheus: ${s.prometheus.ok ? 'up' : 'DOWN'} ${s.prometheus.url}${s.prometheus.pid ? `  pid ${s.prometheus.pid}` : ''}`);
  console.log(`dashboard: ${s.dashboard.ok ? 'up' : 'DOWN'} ${s.dashboard.url}${s.dashboard.pid ? `  pid ${s.dashboard.pid}` : ''}`);
  console.log(`state:    ${s.home}`);
  if (!s.docker.ok || !s.temporal.ok || !s.worker.ok) process.exitCode = 1;
}

export async function devHostsUpCommand(count: number): Promise<void> {
  await devHostsUp(resolvePaths(), count, log);
}

export async function devHostsDownCommand(): Promise<void> {
  await devHostsDown(resolvePaths(), log);
}
