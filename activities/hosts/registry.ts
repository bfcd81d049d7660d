/**
 * The hosts added with `dbaas host add`, kept in DBAAS_HOME/hosts.json on the machine that runs the
 * CLI and the control worker. The local engine is host `local` and is never in the file.
 */
import * as fs from 'node:fs';
import Docker from 'dockerode';
import * as lockfile from 'proper-lockfile';
import { hostRecordProblem, type HostRecord } from '../../common/host-spec';
import { LOCAL_HOST } from '../../common/inventory';
import type { Paths } from '../../common/paths';
import { Inventory } from './inventory';
import { servingGeneration } from '../generations-file';
import { LocalEngine } from './local-engine';
import { hostSocketPath, machineHosts, readHosts, registryFile, type RegistryFile } from './host-records';

export { readHosts };

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

/**
 * The addresses of the added hosts: server certificates name them all, since a client may dial
 * any host's front door and HAProxy passes TLS through to whichever member leads.
 */
export function hostAddresses(paths: Paths): string[] {
  return readHosts(paths).flatMap((h) => (h.address ? [h.address] : []));
}

/** A dockerode client for a host's socket. */
export const engineOf = (r: Pick<HostRecord, 'docker'>): Docker => new Docker({ socketPath: hostSocketPath(r) });

/**
 * The inventory of this machine: the local engine and every added host, by its socket on this
 * machine (simulated hosts); a host whose socket does not answer is unreachable. A host behind its
 * own worker on another machine is read through that worker instead (not built yet).
 */
export function machineInventory(paths: Paths, local: Docker = new Docker()): Inventory {
  const hosts = machineHosts(paths, new LocalEngine(LOCAL_HOST, local), (h) => new LocalEngine(h.name, engineOf(h), h.address));
  return new Inventory(hosts, (cluster) => servingGeneration(paths, cluster));
}
