/**
 * Reading DBAAS_HOME/hosts.json, the hosts added with `dbaas host add` (./registry.ts writes
 * it), and the hosts of this machine built from it: the workers' engines (dockerode) and the
 * CLI's read-only ones share the one way to read it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostRecord } from '../../common/host-spec';
import type { Paths } from '../../common/paths';

export interface RegistryFile {
  hosts: (HostRecord & { addedAt: string })[];
}

export const registryFile = (paths: Paths): string => path.join(paths.home, 'hosts.json');

export function readHosts(paths: Paths): (HostRecord & { addedAt: string })[] {
  try {
    return (JSON.parse(fs.readFileSync(registryFile(paths), 'utf8')) as RegistryFile).hosts;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The socket on this machine through which an added host's engine is reached. */
export const hostSocketPath = (r: Pick<HostRecord, 'docker'>): string => r.docker.replace(/^unix:\/\//, '');

/** Changes when hosts.json does (size and modification time; empty when there is none). */
function registryStamp(paths: Paths): string {
  try {
    const st = fs.statSync(registryFile(paths));
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

/**
 * This machine's hosts: the local engine, then every added host by its socket on this machine
 * (`make` builds each once). The registry is read again when it changes, so a running worker sees
 * `host add` and `host remove` at once.
 */
export function machineHosts<H>(paths: Paths, local: H, make: (r: HostRecord) => H): () => H[] {
  const made = new Map<string, H>();
  let seen: { stamp: string; hosts: H[] } | undefined;
  return () => {
    const stamp = registryStamp(paths);
    if (seen?.stamp !== stamp) {
      const hosts = readHosts(paths).map((h) => {
        const key = `${h.name}|${h.docker}|${h.address ?? ''}`;
        let e = made.get(key);
        if (e === undefined) made.set(key, (e = make(h)));
        return e;
      });
      seen = { stamp, hosts };
    }
    return [local, ...seen.hosts];
  };
}
