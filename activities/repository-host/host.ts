/**
 * The control plane's repository host: one `dbaas-backup` container (its own volume, its own
 * network for restore helpers) that keeps one pgBackRest stanza per cluster and joins each
 * such cluster's network. Made on first need, idempotent; which stanza runs its server as which
 * user on which port is kept in DBAAS_HOME (repository-host.json), so a container made anew
 * (its volume kept) gets every stanza's server back.
 */
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Paths } from '../../common/paths';
import { IMAGES } from '../../common/images';
import { LEGACY_POSTGRES_VERSION, type PostgresVersion } from '../../common/postgres-version';
import { LABEL_ROLE } from '../../common/labels';
import { networkName } from '../../common/resource-names';
import { backupPeerName } from '../../common/render/pgbackrest';
import { readBackupPassphrase } from '../backup-passphrase';
import { readRetention } from '../backup-settings';
import { PGBACKREST_PURPOSES, REPOSITORY_HOST_AUTHORITY } from '../backup-certificates';
import { ensureClusterCa, issueCertificate, readCaCert } from '../cluster-tls';
import { ensureContainerRunning, ensureNetwork, ensureVolume, execIn, isNotFound, putFiles as putFilesInto, type ExecResult, type FileToPut } from '../docker';
import { ErrorTypes, finalError } from '../errors';
import { presentedTlsCertificate, waitForPresentedSerial } from '../tls-probe';
import { withClusterLock } from '../locks';
import { readRegistry, repositoryHostName, rootInfoCommand, stanzaServerOf, writeRegistry } from './registry';

export { repositoryHostName, stanzaServerOf };
import {
  HOST_COMMAND, HOST_REPO_PATH, endServerProcessesScript, pgbackrestBinary, SERVE_SCRIPT, SERVE_SCRIPT_TEXT, SERVER_BINARY_FILE, purgeStanzaScript, renderRootStanzaConfig,
  renderStanzaServerConfig, repositoryClientName, rootConfigPath, rootDir, serverDir, stanzaLayoutScript, tlsIn, type StanzaServer, type TlsPaths,
} from './render';

/** The value of dbaas.role on the repository host's container, volume and network. */
export const REPOSITORY_HOST_ROLE = 'repository-host';
/**
 * The CA (under DBAAS_HOME/tls) of the stanza servers' certificates and of their clients'. Not a
 * cluster's: it outlives every cluster, so a deleted cluster's backups can still be restored.
 */
const REPOSITORY_AUTHORITY = REPOSITORY_HOST_AUTHORITY;

const UID_BASE = 20001;
/** Above the members' 8432; the host has no server of its own there. */
const PORT_BASE = 8433;

const volumeOf = (host: string): string => `${host}-repo`;
export const hostVolumeName = (paths: Paths): string => volumeOf(repositoryHostName(paths));
/** networkName(x) is `dbaas-x`: the host's own network is `dbaas-backup…-net`. */
const networkKeyOf = (host: string): string => `${host.slice('dbaas-'.length)}-net`;
export const repositoryHostNetwork = (paths: Paths): string => networkName(networkKeyOf(repositoryHostName(paths)));
const hostLabels = (): Record<string, string> => ({ [LABEL_ROLE]: REPOSITORY_HOST_ROLE });

/** The stanza's user and port: kept ones, or the lowest free; its major, as given (kept when not). */
async function allocateStanzaServer(paths: Paths, stanza: string, version: PostgresVersion | undefined): Promise<StanzaServer> {
  await withClusterLock(paths, REPOSITORY_AUTHORITY, async () => {
    const r = readRegistry(paths);
    const kept = r[stanza];
    if (kept && (version === undefined || (kept.version ?? LEGACY_POSTGRES_VERSION) === version)) return;
    if (kept) {
      r[stanza] = { ...kept, version };
    } else {
      const used = Object.values(r);
      let k = 0;
      while (used.some((e) => e.uid === UID_BASE + k || e.port === PORT_BASE + k)) k++;
      r[stanza] = { uid: UID_BASE + k, port: PORT_BASE + k, version: version ?? LEGACY_POSTGRES_VERSION };
    }
    writeRegistry(paths, r);
  });
  return stanzaServerOf(paths, stanza)!;
}

export async function releaseStanzaServer(paths: Paths, stanza: string): Promise<void> {
  await withClusterLock(paths, REPOSITORY_AUTHORITY, async () => {
    const r = readRegistry(paths);
    delete r[stanza];
    writeRegistry(paths, r);
  });
}

const rootFile = (dir: string, name: string, content: string, mode: number): FileToPut => ({ dir, name, content, mode, uid: 0, gid: 0 });

/**
 * The stanza server's files, its user's: config (its passphrase), a serverAuth-only certificate
 * (a member can read this key through the server: with clientAuth it could pose as the host),
 * and the authority's CA, which checks the members' client certificates. Plus root's info
 * config, which reaches no member.
 */
/** The stanza server's config and a new certificate (its serial too), and root's info config. */
async function stanzaFiles(paths: Paths, host: string, s: StanzaServer): Promise<{ files: FileToPut[]; serial: string }> {
  const cipherPass = readBackupPassphrase(paths, s.stanza);
  const issued = await issueCertificate(paths, REPOSITORY_AUTHORITY, { commonName: host, dnsNames: [host], ips: [] }, [PGBACKREST_PURPOSES[0]]);
  const dir = serverDir(s.stanza);
  const own = (name: string, content: string, mode: number): FileToPut => ({ dir, name, content, mode, uid: s.uid, gid: s.uid });
  const tls = tlsIn(dir);
  const files = [
    own('pgbackrest.conf', renderStanzaServerConfig(s, cipherPass), 0o600),
    own(path.posix.basename(tls.key), issued.keyPem, 0o600),
    own(path.posix.basename(tls.cert), issued.certPem, 0o644),
    own(path.posix.basename(tls.ca), readCaCert(paths, REPOSITORY_AUTHORITY), 0o644),
    rootFile(rootDir(s.stanza), 'info.conf', renderRootStanzaConfig({ stanza: s.stanza, pgHosts: [], backupStandby: false, retention: readRetention(paths, s.stanza), cipherPass }), 0o600),
    rootFile(rootDir(s.stanza), SERVER_BINARY_FILE, `${pgbackrestBinary(s.version)}\n`, 0o600),
  ];
  return { files, serial: issued.serial };
}

/**
 * `cluster rotate-certs`: the stanza's server gets a new certificate and starts again on it (its
 * processes end; its loop starts it within a second). A member's WAL push cut off meanwhile
 * fails and PostgreSQL retries it. Returns the serial the server presents now.
 */
export async function renewStanzaServerCertificate(docker: Docker, paths: Paths, cluster: string): Promise<string> {
  const server = stanzaServerOf(paths, cluster);
  if (!server) throw finalError(ErrorTypes.ClusterNotFound, `the repository host has no stanza ${cluster}`);
  const host = await ensureRepositoryHost(docker, paths);
  const { files, serial } = await stanzaFiles(paths, host, server);
  await putFiles(docker, host, files);
  await ok(docker, host, ['sh', '-c', endServerProcessesScript(server)], `restarting the server of stanza ${cluster}`);
  const ip = (await docker.getContainer(host).inspect()).NetworkSettings.Networks[repositoryHostNetwork(paths)]?.IPAddress;
  if (!ip) throw new Error(`${host} has no address on ${repositoryHostNetwork(paths)}`);
  const client = await issueCertificate(paths, REPOSITORY_AUTHORITY, { commonName: repositoryClientName(cluster), dnsNames: [repositoryClientName(cluster)], ips: [] }, [PGBACKREST_PURPOSES[1]]);
  await waitForPresentedSerial(() => presentedTlsCertificate(ip, server.port, host, readCaCert(paths, REPOSITORY_AUTHORITY), client), serial, `the server of stanza ${cluster} on ${host}`);
  return serial;
}

async function putFiles(docker: Docker, container: string, files: FileToPut[]): Promise<void> {
  await putFilesInto(docker.getContainer(container), files);
}

async function ok(docker: Docker, container: string, cmd: string[], what: string): Promise<string> {
  const r = await execIn(docker, container, cmd);
  if (r.exitCode !== 0) throw new Error(`${what} on ${container} failed (exit ${r.exitCode}): ${r.output.trim().split('\n').pop() ?? ''}`);
  return r.output;
}

/**
 * The host running, with its volume and network. A container made anew gets every kept stanza's
 * directories and server files before it starts, so its main command starts their servers.
 */
export async function ensureRepositoryHost(docker: Docker, paths: Paths): Promise<string> {
  const host = repositoryHostName(paths);
  let running = false;
  try {
    running = (await docker.getContainer(host).inspect()).State.Running;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  // Running: its volume, network and authority exist (every command on the host asks this first).
  if (running) return host;
  await ensureClusterCa(paths, REPOSITORY_AUTHORITY);
  await ensureVolume(docker, volumeOf(host), hostLabels());
  await ensureNetwork(docker, networkKeyOf(host), hostLabels());
  await ensureContainerRunning(docker, {
    name: host,
    labels: hostLabels(),
    create: {
      Image: IMAGES.backup,
      User: 'root',
      Hostname: host,
      Cmd: HOST_COMMAND,
      HostConfig: { NetworkMode: repositoryHostNetwork(paths), Binds: [`${volumeOf(host)}:${HOST_REPO_PATH}`], RestartPolicy: { Name: 'unless-stopped' } },
    },
    files: [rootFile(path.posix.dirname(SERVE_SCRIPT), path.posix.basename(SERVE_SCRIPT), SERVE_SCRIPT_TEXT, 0o755)],
  });
  // A container made anew (its volume kept) has no stanza's files and is on no cluster's network:
  // every kept stanza gets them and its server, and a live cluster's members reach the host again.
  for (const stanza of Object.keys(readRegistry(paths))) {
    await setUpStanza(docker, paths, host, stanzaServerOf(paths, stanza)!);
    await connectToCluster(docker, paths, stanza);
  }
  return host;
}

/**
 * For `dev up`: the host running on the current image. One made from an older image (before a
 * rebuild with new Debian packages) is made anew; its volume, stanzas and servers are kept. A
 * backup running on it at that moment fails and its workflow's retry carries it on.
 */
export async function refreshRepositoryHost(docker: Docker, paths: Paths): Promise<'made' | 'replaced' | 'current'> {
  const host = repositoryHostName(paths);
  let image: string | undefined;
  try {
    const c = await docker.getContainer(host).inspect();
    image = c.State.Running ? c.Image : 'stopped';
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const current = (await docker.getImage(IMAGES.backup).inspect()).Id;
  if (image === current) return 'current';
  if (image !== undefined) await docker.getContainer(host).remove({ force: true }).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
  await ensureRepositoryHost(docker, paths);
  return image === undefined ? 'made' : 'replaced';
}

/**
 * Directories and modes, the server's files, its server started and answering. Idempotent. A
 * server running another pgBackRest than the stanza's (its cluster was upgraded) starts again on it.
 */
async function setUpStanza(docker: Docker, paths: Paths, host: string, server: StanzaServer): Promise<void> {
  const { stanza } = server;
  await ok(docker, host, ['sh', '-c', stanzaLayoutScript(server)], `the layout of stanza ${stanza}`);
  await putFiles(docker, host, (await stanzaFiles(paths, host, server)).files);
  await ok(docker, host, [SERVE_SCRIPT, stanza], `starting the server of stanza ${stanza}`);
  const binary = pgbackrestBinary(server.version);
  // The server's command line names its binary (SERVE_SCRIPT runs it by path); /proc/PID/exe of another user's process is out of root's reach without CAP_SYS_PTRACE.
  const running = await execIn(docker, host, ['pgrep', '-a', '-u', String(server.uid)]);
  if (running.output.split('\n').map((l) => l.trim().split(/\s+/)[1]).some((command) => command !== undefined && command !== binary)) {
    await ok(docker, host, ['sh', '-c', endServerProcessesScript(server)], `restarting the server of stanza ${stanza} on ${binary}`);
  }
  for (let i = 0; ; i++) {
    const ping = await execIn(docker, host, [binary, `--tls-server-port=${server.port}`, 'server-ping', host]);
    if (ping.exitCode === 0) return;
    if (i >= 50) throw new Error(`the pgBackRest server of stanza ${stanza} on ${host}:${server.port} does not answer: ${ping.output.trim()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The host joins the cluster's network (members dial it by name); a cluster without a network is skipped. */
export async function connectToCluster(docker: Docker, paths: Paths, cluster: string): Promise<void> {
  const host = repositoryHostName(paths);
  const net = docker.getNetwork(networkName(cluster));
  let info: { Containers?: Record<string, { Name: string }> };
  try {
    info = (await net.inspect()) as typeof info;
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  if (Object.values(info.Containers ?? {}).some((c) => c.Name === host)) return;
  try {
    await net.connect({ Container: host });
  } catch (err) {
    // 403 "already exists in network": a concurrent attempt connected it.
    if (!/already exists/.test(String((err as Error).message))) throw err;
  }
}

/**
 * The cluster's stanza on the host: its user and port, directories, server files, and its server
 * running (checked with server-ping). The host joins the cluster's network. Idempotent.
 */
export async function ensureStanzaOnHost(docker: Docker, paths: Paths, cluster: string, version?: PostgresVersion): Promise<StanzaServer> {
  const server = await allocateStanzaServer(paths, cluster, version);
  const host = await ensureRepositoryHost(docker, paths);
  await setUpStanza(docker, paths, host, server);
  await connectToCluster(docker, paths, cluster);
  return server;
}

export interface RootCommand {
  /** The members to reach (leader first, then a standby); none: a command on the repository only (info). */
  pgHosts: string[];
  backupStandby?: boolean;
}

/**
 * The pgbackrest command line root runs on the host for the stanza, its config put in first:
 * with members, root's client certificate is the cluster's backup peer (from the cluster's CA,
 * which the members' servers trust).
 */
export async function rootCommand(docker: Docker, paths: Paths, cluster: string, args: string[], c: RootCommand): Promise<string[]> {
  const host = repositoryHostName(paths);
  const binary = pgbackrestBinary(stanzaServerOf(paths, cluster)?.version ?? LEGACY_POSTGRES_VERSION);
  if (c.pgHosts.length === 0) return rootInfoCommand(paths, cluster, args);
  const dir = rootDir(cluster);
  const tls = tlsIn(dir);
  const issued = await issueCertificate(paths, cluster, { commonName: backupPeerName(cluster), dnsNames: [host], ips: [] }, PGBACKREST_PURPOSES);
  const config = renderRootStanzaConfig({
    stanza: cluster, pgHosts: c.pgHosts, backupStandby: c.backupStandby ?? false, retention: readRetention(paths, cluster), cipherPass: readBackupPassphrase(paths, cluster),
  });
  await putFiles(docker, host, [
    rootFile(dir, path.posix.basename(tls.key), issued.keyPem, 0o600),
    rootFile(dir, path.posix.basename(tls.cert), issued.certPem, 0o644),
    rootFile(dir, path.posix.basename(tls.ca), readCaCert(paths, cluster), 0o644),
    rootFile(dir, 'pgbackrest.conf', config, 0o600),
  ]);
  return [binary, `--config=${rootConfigPath(cluster)}`, `--stanza=${cluster}`, ...args];
}

/** Run a pgbackrest command as root on the host for the stanza; the host must be running. */
export async function runAsRoot(docker: Docker, paths: Paths, cluster: string, args: string[], c: RootCommand): Promise<ExecResult> {
  if (!stanzaServerOf(paths, cluster)) throw finalError(ErrorTypes.ClusterNotFound, `the repository host has no stanza ${cluster}`);
  const host = await ensureRepositoryHost(docker, paths);
  return execIn(docker, host, await rootCommand(docker, paths, cluster, args, c));
}

/** The client files a member (or a restore helper) presents to the stanza's server, owned by uid, at tls's paths. */
export async function repositoryClientFiles(paths: Paths, stanza: string, tls: TlsPaths, uid: number): Promise<FileToPut[]> {
  const issued = await issueCertificate(paths, REPOSITORY_AUTHORITY, { commonName: repositoryClientName(stanza), dnsNames: [repositoryClientName(stanza)], ips: [] }, [PGBACKREST_PURPOSES[1]]);
  const own = (file: string, content: string, mode: number): FileToPut => ({ dir: path.posix.dirname(file), name: path.posix.basename(file), content, mode, uid, gid: uid });
  return [own(tls.key, issued.keyPem, 0o600), own(tls.cert, issued.certPem, 0o644), own(tls.ca, readCaCert(paths, REPOSITORY_AUTHORITY), 0o644)];
}

/**
 * The stanza goes from the host: its server stops, its backups, WAL and configs are removed, its
 * user and port are free again. A stanza the host does not have is success.
 */
export async function purgeStanzaOnHost(docker: Docker, paths: Paths, cluster: string): Promise<void> {
  const server = stanzaServerOf(paths, cluster);
  if (!server) return;
  const host = await ensureRepositoryHost(docker, paths);
  await ok(docker, host, ['sh', '-c', purgeStanzaScript(server)], `removing stanza ${cluster}`);
  await releaseStanzaServer(paths, cluster);
}

/** The host's container, network and volume go (every stanza's backups with them): for a control plane's tear-down and a test's clean-up. */
export async function removeRepositoryHost(docker: Docker, paths: Paths): Promise<void> {
  const host = repositoryHostName(paths);
  const ignoreAbsent = (err: unknown): void => {
    if (!isNotFound(err)) throw err;
  };
  await docker.getContainer(host).remove({ force: true }).catch(ignoreAbsent);
  await docker.getNetwork(repositoryHostNetwork(paths)).remove().catch(ignoreAbsent);
  await docker.getVolume(volumeOf(host)).remove().catch(ignoreAbsent);
}
