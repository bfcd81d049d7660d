/**
 * The hosts added with `dbaas host add`, kept in DBAAS_HOME/hosts.json on the machine that runs the
 * CLI and the control worker. The local engine is host `local` and is never in the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import * as lockfile from 'proper-lockfile';
import { hostRecordProblem, type HostRecord } from '../../common/host-spec';
import { LOCAL_HOST } from '../../common/inventory';
import type { Paths } from '../../common/paths';
import { Inventory } from './inventory';
import { LocalEngine } from './local-engine';

interface RegistryFile {
  hosts: (HostRecord & { addedAt: string })[];
}

const registryFile = (paths: Paths): string => path.join(paths.home, 'hosts.json');

export function readHosts(paths: Paths): (HostRecord & { addedAt: string })[] {
  try {
    return (JSON.parse(fs.readFileSync(registryFile(paths), 'utf8')) as RegistryFile).hosts;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Change the file under its lock (a CLI and a worker may write it at once), atomically. */
async function updateHosts(paths: Paths, change: (hosts: RegistryFile['hosts']) => RegistryFile['hosts']): Promise<void> {
  fs.mkdirSync(paths.home, { recursive: true });
  const file = registryFile(paths);
  if (!fs.existsSync(file)) fs.writeFileSync(file, JSON.stringify({ hosts: [] }, null, 2) + '\n', { flag: 'wx' });
  const release = await lockfile.lock(file, { retries: { retries: 20, minTimeout: 50, maxTimeout: 500 } });
  try {
    const next: RegistryFile = { hosts: change(readHosts(paths)) };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(next, null, 2) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  } finally {
    await release();
  }
}

/** Add a host; throws the reason (checked again under the lock) when it cannot be added. */
export async function addHost(paths: Paths, r: HostRecord): Promise<void> {
  await updateHosts(paths, (hosts) => {
    const problem = hostRecordProblem(r, hosts);
    if (problem) throw new Error(problem);
    return [...hosts, { ...r, addedAt: new Date().toISOString() }];
  });
}

export async function removeHost(paths: Paths, name: string): Promise<void> {
  await updateHosts(paths, (hosts) => hosts.filter((h) => h.name !== name));
}

/** A dockerode client for a host's socket. */
export const engineOf = (r: Pick<HostRecord, 'docker'>): Docker => new Docker({ socketPath: r.docker.replace(/^unix:\/\//, '') });

/**
 * The inventory of this machine: the local engine and every added host whose socket is on this
 * machine (simulated hosts). A host behind its own worker on another machine is read through
 * that worker instead (not built yet).
 */
export function machineInventory(paths: Paths, local: Docker = new Docker()): Inventory {
  const added = readHosts(paths).filter((h) => fs.existsSync(h.docker.replace(/^unix:\/\//, '')));
  return new Inventory([new LocalEngine(LOCAL_HOST, local), ...added.map((h) => new LocalEngine(h.name, engineOf(h)))]);
}
