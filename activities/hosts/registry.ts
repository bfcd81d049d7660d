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
import { servingGeneration } from '../generations-file';
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

/**
 * The addresses of the added hosts: server certificates name them all, since a client may dial
 * any host's front door and HAProxy passes TLS through to whichever member leads.
 */
export function hostAddresses(paths: Paths): string[] {
  return readHosts(paths).flatMap((h) => (h.address ? [h.address] : []));
}

/** A dockerode client for a host's socket. */
export const engineOf = (r: Pick<HostRecord, 'docker'>): Docker => new Docker({ socketPath: r.docker.replace(/^unix:\/\//, '') });

/**
 * The inventory of this machine: the local engine and every added host, by its socket on this
 * machine (simulated hosts); a host whose socket does not answer is unreachable. The registry is
 * read again when it changes, so a running worker sees `host add` and `host remove` at once.
 * A host behind its own worker on another machine is read through that worker instead (not
 * built yet).
 */
export function machineInventory(paths: Paths, local: Docker = new Docker()): Inventory {
  const localEngine = new LocalEngine(LOCAL_HOST, local);
  const engines = new Map<string, LocalEngine>();
  let seen: { stamp: string; hosts: LocalEngine[] } | undefined;
  return new Inventory(() => {
    const stamp = registryStamp(paths);
    if (seen?.stamp !== stamp) {
      const hosts = readHosts(paths).map((h) => {
        const key = `${h.name}|${h.docker}|${h.address ?? ''}`;
        let e = engines.get(key);
        if (!e) engines.set(key, (e = new LocalEngine(h.name, engineOf(h), h.address)));
        return e;
      });
      seen = { stamp, hosts };
    }
    return [localEngine, ...seen.hosts];
  }, (cluster) => servingGeneration(paths, cluster));
}

/** Changes when hosts.json does (size and modification time; empty when there is none). */
function registryStamp(paths: Paths): string {
  try {
    const st = fs.statSync(registryFile(paths));
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}
