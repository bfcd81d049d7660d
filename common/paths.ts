/**
 * Where dbaas keeps state on the machine that runs the CLI and the worker.
 *
 * DBAAS_HOME (default ~/.dbaas): logs, pid files, the Temporal SQLite file, secrets, port registry,
 * Prometheus's configuration, data and scrape target files.
 * DBAAS_CACHE (default ~/.cache/dbaas): heavy reusable things (the Temporal CLI and SeaweedFS binaries, the
 * debootstrapped base image tarball); kept outside the checkout so CI and re-runs reuse them.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export interface Paths {
  home: string;
  logs: string;
  run: string;
  secrets: string;
  temporalDb: string;
  portRegistry: string;
  /** The local Prometheus's configuration file and data directory (client/dev/prometheus.ts). */
  prometheus: string;
  /** Its file-based discovery: one `<cluster>.json` per cluster (activities/scrape-targets.ts). */
  scrapeTargets: string;
  cache: string;
  cacheBin: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const home = path.resolve(env.DBAAS_HOME ?? path.join(os.homedir(), '.dbaas'));
  const cache = path.resolve(env.DBAAS_CACHE ?? path.join(os.homedir(), '.cache', 'dbaas'));
  return {
    home,
    logs: path.join(home, 'logs'),
    run: path.join(home, 'run'),
    secrets: path.join(home, 'secrets'),
    temporalDb: path.join(home, 'temporal.db'),
    portRegistry: path.join(home, 'ports.json'),
    prometheus: path.join(home, 'prometheus'),
    scrapeTargets: path.join(home, 'prometheus', 'targets'),
    cache,
    cacheBin: path.join(cache, 'bin'),
  };
}

/** The checkout root (dist/common/paths.js → ../..). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const DOCKER_CONTEXT_DIR = path.join(PROJECT_ROOT, 'docker');
