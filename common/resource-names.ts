/**
 * Deterministic Docker resource names. A retried activity recomputes the same name and finds what
 * its first attempt made.
 */

export const networkName = (cluster: string): string => `dbaas-${cluster}`;
/**
 * Every cluster network's Linux bridge starts with this, so one DOCKER-USER rule (`-o dbaas-+`)
 * covers the networks made after `dev up` too (see client/dev/forwarding-firewall.ts).
 */
export const BRIDGE_PREFIX = 'dbaas-';
/** Docker's network option that names the bridge (otherwise br-<network id>). */
export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
/**
 * The cluster network's bridge: the prefix and a hash of the cluster name, since a Linux interface
 * name has at most 15 characters and cluster names up to 30.
 */
export const bridgeName = (cluster: string): string => `${BRIDGE_PREFIX}${fnv1a64(cluster).slice(0, 15 - BRIDGE_PREFIX.length)}`;

/** FNV-1a, 64 bits, as 16 hex digits, over the UTF-16 code units (cluster names are ASCII DNS labels). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}
export const containerName = (cluster: string, member: string): string => `dbaas-${cluster}-${member}`;
export const volumeName = (cluster: string, member: string): string => `dbaas-${cluster}-${member}-data`;
export const HAPROXY_MEMBER = 'haproxy';
/** The cluster's pgBackRest repository, mounted in every Postgres container. */
export const repositoryVolumeName = (cluster: string): string => `dbaas-${cluster}-backup-repo`;
