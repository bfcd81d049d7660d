/**
 * What `dbaas host add` accepts, checked before anything is written. Pure: the CLI refuses with
 * these lines (exit 2) and the registry re-checks what it reads.
 */
import { LOCAL_HOST } from './inventory';

export interface HostRecord {
  name: string;
  /** The engine's socket as its own worker opens it: `unix:///var/run/docker.sock` on that machine. */
  docker: string;
  /** The address other machines reach the host at (members publish their ports on it). */
  address?: string;
  zone?: string;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,19}$/;
const ZONE_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Why `name` is not a host's name (an added host's, or `local`), or undefined. */
export function hostNameProblem(name: unknown): string | undefined {
  return typeof name === 'string' && NAME_RE.test(name) ? undefined : `host name ${JSON.stringify(name)}: 1 to 20 of a-z, 0-9 and -, starting with a letter`;
}

/** Why `r` cannot be added next to `existing`, or undefined when it can. */
export function hostRecordProblem(r: HostRecord, existing: readonly HostRecord[]): string | undefined {
  const nameErr = hostNameProblem(r.name);
  if (nameErr) return nameErr;
  if (r.name === LOCAL_HOST) return `host ${LOCAL_HOST} is this machine's own engine and is always there; give the new host another name`;
  if (existing.some((h) => h.name === r.name)) return `host ${r.name} is already added (\`dbaas host list\`)`;
  // The host's own worker owns its engine through the local socket; no Docker API over the network.
  if (!/^unix:\/\/\/\S+$/.test(r.docker)) return `--docker ${r.docker}: a unix socket (unix:///PATH): each host's worker reaches its engine on that machine, never over the network`;
  if (existing.some((h) => h.docker === r.docker)) return `--docker ${r.docker} is already host ${existing.find((h) => h.docker === r.docker)?.name}`;
  if (r.address !== undefined && !IPV4_RE.test(r.address)) return `--address ${r.address}: an IPv4 address`;
  if (r.address !== undefined && existing.some((h) => h.address === r.address)) return `--address ${r.address} is already host ${existing.find((h) => h.address === r.address)?.name}'s`;
  if (r.zone !== undefined && !ZONE_RE.test(r.zone)) return `--zone ${JSON.stringify(r.zone)}: 1 to 31 of a-z, 0-9 and -`;
  return undefined;
}
