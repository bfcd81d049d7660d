/**
 * The repository host's name and its registry of stanzas (DBAAS_HOME/repository-host.json), and
 * root's `pgbackrest info` of a stanza there: what `cluster status` reads, without dockerode or
 * the certificates ./host.ts needs to make and change the host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Paths } from '../../common/paths';
import { LEGACY_POSTGRES_VERSION, type PostgresVersion } from '../../common/postgres-version';
import { insideHome } from '../home-paths';
import { pgbackrestBinary, rootDir, type StanzaServer } from './render';

/**
 * `dbaas-backup` for the default DBAAS_HOME; another control plane on the same engine (a test
 * run, a second developer) gets its own, named after its home.
 */
export function repositoryHostName(paths: Paths): string {
  if (paths.home === path.join(os.homedir(), '.dbaas')) return 'dbaas-backup';
  let h = 0x811c9dc5;
  for (const c of paths.home) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `dbaas-backup-${h.toString(16).padStart(8, '0')}`;
}

/** Per stanza: its server's user and port, and its cluster's major (absent in entries from before 17: 15). */
type Registry = Record<string, { uid: number; port: number; version?: PostgresVersion }>;
const registryFile = (paths: Paths): string => insideHome(paths, 'repository-host.json');

export function readRegistry(paths: Paths): Registry {
  try {
    return JSON.parse(fs.readFileSync(registryFile(paths), 'utf8')) as Registry;
  } catch {
    return {};
  }
}

export function writeRegistry(paths: Paths, r: Registry): void {
  const file = registryFile(paths);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(r, null, 1));
  fs.renameSync(`${file}.tmp`, file);
}

/** The stanza's server, if the repository host has the stanza. */
export function stanzaServerOf(paths: Paths, stanza: string): StanzaServer | undefined {
  const e = readRegistry(paths)[stanza];
  return e ? { stanza, uid: e.uid, port: e.port, version: e.version ?? LEGACY_POSTGRES_VERSION } : undefined;
}

/** Root's `pgbackrest info` of the stanza on the host: its info.conf reaches no member (pg hosts none). */
export const rootInfoCommand = (paths: Paths, cluster: string, args: string[]): string[] =>
  [pgbackrestBinary(stanzaServerOf(paths, cluster)?.version ?? LEGACY_POSTGRES_VERSION), `--config=${rootDir(cluster)}/info.conf`, `--stanza=${cluster}`, ...args];
