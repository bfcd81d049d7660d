/**
 * A real S3 server for tests: SeaweedFS (`weed server -s3`, built by `dev up`) in a container, in
 * one of two places:
 *
 * - startS3Server: on a Docker network the test names, so containers on it reach the server by
 *   its container name.
 * - startS3ServerOnDockerHost: on a network of its own, published on 127.0.0.1 and on the default
 *   bridge's gateway (the address `--add-host host.docker.internal:host-gateway` gives), so a
 *   container on any network reaches it as host.docker.internal:PORT, as it would reach an S3
 *   service outside Docker. The same PORT on both: a simulated host offered this machine's
 *   127.0.0.1:PORT (DBAAS_SIM_LOOPBACK_PORTS) reaches it by the same name and port, its
 *   host-gateway being this machine's address on the simulated LAN. Docker's isolation chains drop traffic routed between two bridges;
 *   this path works because each bridge's containers skip the DNAT of published ports and reach
 *   docker-proxy on the host instead (Docker's default userland proxy).
 *
 * Either way:
 * - HTTPS only (pgBackRest 2.45 refuses http:// S3 endpoints), with a certificate from the
 *   owner's dbaas CA naming every host the server is reached by.
 * - Identities generated here, handed over in a 0600 file: never on a command line or in the
 *   container's environment. With identities SeaweedFS refuses anonymous requests.
 * - Master, volume server and filer listen on loopback inside the container; only the S3 port
 *   (and its gRPC twin, which takes admin calls from loopback only) faces the network.
 * - Telemetry off (on by default in SeaweedFS: it would post to telemetry.seaweedfs.com).
 * - Labelled with the owner and the test run, like its own network: removeLeftoverTestClusters
 *   removes a crashed run's server with the owner's other resources.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import type Docker from 'dockerode';
import { demux, ensureContainerRunning, ensureNetwork, isNotFound, stopAndRemoveContainer, type FileToPut } from '../../activities/docker';
import { ensureClusterCa, issueServerCertificate, readCaCert } from '../../activities/cluster-tls';
import { LABEL_CLUSTER, LABEL_ROLE, LABEL_TEST_RUN, labels } from '../../common/labels';
import { containerName, networkName } from '../../common/resource-names';
import { resolvePaths, type Paths } from '../../common/paths';
import { SEAWEEDFS_IMAGE, ensureSeaweedfsImage, findSeaweedfsBinary, seaweedfsBinaryPath, seaweedfsBuildLog } from '../../client/dev/seaweedfs';
import { s3Request, type S3Credentials, type S3Endpoint } from './s3-client';
import { TEST_RUN } from './integration';

export const S3_PORT = 8333;
/** The name `--add-host host.docker.internal:host-gateway` gives the Docker host inside a container. */
export const DOCKER_HOST_NAME = 'host.docker.internal';
/** The image's user (docker/seaweedfs/Dockerfile): it must own its 0600 key and identities. */
const SEAWEEDFS_UID = 990;
const CONFIG_DIR = '/etc/seaweedfs';
const START_TIMEOUT_MS = 60_000;
const LOOPBACK = '127.0.0.1';

export interface S3Server {
  container: string;
  /** host:port as containers on the server's network reach it; the certificate names this host. */
  endpoint: string;
  /** The same S3 API from this machine (published on 127.0.0.1, a port Docker picks). */
  api: S3Endpoint;
  bucket: string;
  region: string;
  /** The identity for pgBackRest: read, write and list on the bucket only. */
  credentials: S3Credentials;
  caCertPem: string;
}

export interface DockerHostS3Server extends S3Server {
  /** `host.docker.internal:PORT`: how a container on any network with the host-gateway extra host reaches it. */
  hostEndpoint: string;
  /** The network made for the server alone; stopS3Server removes it. */
  ownNetwork: string;
}

/** Why the S3 tests cannot run here, as one line, or undefined when they can. */
export function s3ServerSkipReason(paths: Paths = resolvePaths()): string | undefined {
  if (findSeaweedfsBinary(paths) !== undefined) return undefined;
  return `SeaweedFS is not built (no ${seaweedfsBinaryPath(paths)}): run \`dbaas dev up\`; if it printed "! seaweedfs", see ${seaweedfsBuildLog(paths)}`;
}

const newCredentials = (): S3Credentials => ({
  accessKey: crypto.randomBytes(10).toString('hex').toUpperCase(),
  secretKey: crypto.randomBytes(30).toString('base64url'),
});

/** SeaweedFS's static identities (`-s3.config`); per-bucket actions are `Action:bucket`. */
function identitiesJson(admin: S3Credentials, client: S3Credentials, bucket: string): string {
  return JSON.stringify({
    identities: [
      { name: 'admin', credentials: [admin], actions: ['Admin', 'Read', 'List', 'Write'] },
      { name: 'pgbackrest', credentials: [client], actions: ['Read', 'List', 'Write'].map((a) => `${a}:${bucket}`) },
    ],
  });
}

function weedServerArgs(): string[] {
  return [
    'server',
    '-dir=/data',
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=1024',
    '-s3',
    `-s3.port=${S3_PORT}`,
    '-s3.ip.bind=0.0.0.0',
    // A key file and no -s3.port.https: the S3 port itself serves HTTPS (and only HTTPS).
    `-s3.cert.file=${CONFIG_DIR}/s3.crt`,
    `-s3.key.file=${CONFIG_DIR}/s3.key`,
    `-s3.config=${CONFIG_DIR}/s3.json`,
    // Catalog servers this test has no use for.
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
}

interface Placement {
  owner: string;
  network: string;
  bucket?: string;
  /** Host addresses the S3 port is published on (127.0.0.1 always among them), all on `hostPort` when given, else each on a port Docker picks. */
  publishOn: string[];
  hostPort?: number;
  /** Names and addresses the certificate carries besides the container's name, localhost and 127.0.0.1. */
  alsoNamed: { dnsNames: string[]; ips: string[] };
}

interface Started {
  server: S3Server;
  /** The host port published on each address of Placement.publishOn. */
  ports: Map<string, number>;
}

/**
 * Start the server for `owner` on a network of its own (named and labelled like a cluster's, so
 * leftover clean-up finds it), reachable from containers on any network through the Docker host.
 */
export async function startS3ServerOnDockerHost(docker: Docker, paths: Paths, o: { owner: string; bucket?: string }): Promise<DockerHostS3Server> {
  const gateway = await dockerHostGateway(docker);
  await ensureNetwork(docker, o.owner, { ...labels(o.owner, 'network'), [LABEL_TEST_RUN]: TEST_RUN });
  const ownNetwork = networkName(o.owner);
  const publishOn = [LOOPBACK, gateway];
  const { server, ports } = await launch(docker, paths, {
    ...o,
    network: ownNetwork,
    publishOn,
    hostPort: await portFreeOn(publishOn),
    alsoNamed: { dnsNames: [DOCKER_HOST_NAME], ips: [gateway] },
  });
  return { ...server, hostEndpoint: `${DOCKER_HOST_NAME}:${ports.get(gateway)}`, ownNetwork };
}

/** A port nothing listens on at any of these addresses right now (one the kernel picks on the first). */
async function portFreeOn(addresses: string[]): Promise<number> {
  const listen = (host: string, port: number): Promise<net.Server | undefined> => new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, host, () => resolve(srv));
  });
  const close = (srv: net.Server): Promise<void> => new Promise((r) => srv.close(() => r()));
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await listen(addresses[0], 0);
    if (!first) continue;
    const port = (first.address() as net.AddressInfo).port;
    const others = await Promise.all(addresses.slice(1).map((a) => listen(a, port)));
    await Promise.all([first, ...others].flatMap((srv) => (srv ? [close(srv)] : [])));
    if (others.every((srv) => srv !== undefined)) return port;
  }
  throw new Error(`no port is free on all of ${addresses.join(', ')}`);
}

/** The Docker host's address on the default bridge: what `host-gateway` resolves to (the daemon's default). */
export async function dockerHostGateway(docker: Docker): Promise<string> {
  const bridge = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: { Gateway?: string }[] }; Options?: Record<string, string> };
  const listed = bridge.IPAM?.Config?.find((c) => c.Gateway && /^\d+\.\d+\.\d+\.\d+$/.test(c.Gateway))?.Gateway;
  if (listed) return listed;
  // A dockerd that found its bridge interface already there lists no gateway: the interface's own address is it.
  const name = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
  // os.networkInterfaces() skips an interface that is down, as docker0 is while no container uses the default bridge.
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', name], { encoding: 'utf8' }))?.[1];
  if (!address) throw new Error(`the default bridge network has no IPv4 gateway (docker network inspect bridge; no address on ${name}): host-gateway has nothing to resolve to`);
  return address;
}

async function launch(docker: Docker, paths: Paths, o: Placement): Promise<Started> {
  await ensureSeaweedfsImage(docker, resolvePaths(), () => undefined);
  const container = containerName(o.owner, 's3');
  const bucket = o.bucket ?? 'dbaas-backups';
  const region = 'us-east-1';
  const admin = newCredentials();
  const credentials = newCredentials();
  await ensureClusterCa(paths, o.owner);
  const cert = await issueServerCertificate(paths, o.owner, {
    commonName: container,
    dnsNames: [container, 'localhost', ...o.alsoNamed.dnsNames],
    ips: [LOOPBACK, ...o.alsoNamed.ips],
  });
  const file = (name: string, content: string, mode: number): FileToPut => ({ dir: CONFIG_DIR, name, content, mode, uid: SEAWEEDFS_UID, gid: SEAWEEDFS_UID });
  const serverLabels = { [LABEL_CLUSTER]: o.owner, [LABEL_ROLE]: 's3', [LABEL_TEST_RUN]: TEST_RUN };
  await ensureContainerRunning(docker, {
    name: container,
    labels: serverLabels,
    create: {
      Image: SEAWEEDFS_IMAGE,
      Cmd: weedServerArgs(),
      Labels: serverLabels,
      ExposedPorts: { [`${S3_PORT}/tcp`]: {} },
      HostConfig: { NetworkMode: o.network, PortBindings: { [`${S3_PORT}/tcp`]: o.publishOn.map((HostIp) => ({ HostIp, HostPort: o.hostPort ? String(o.hostPort) : '' })) } },
    },
    files: [
      file('s3.json', identitiesJson(admin, credentials, bucket), 0o600),
      file('s3.key', cert.keyPem, 0o600),
      file('s3.crt', cert.certPem, 0o644),
    ],
  });
  const caCertPem = readCaCert(paths, o.owner);
  const ports = await publishedPorts(docker, container, o.publishOn);
  const api: S3Endpoint = { host: LOOPBACK, port: ports.get(LOOPBACK) ?? 0, ca: caCertPem, region };
  await waitUntilServing(docker, container, api, admin);
  const made = await s3Request(api, admin, 'PUT', `/${bucket}`);
  if (made.status !== 200) throw new Error(`creating bucket ${bucket}: HTTP ${made.status} ${made.body.toString('utf8').slice(0, 300)}`);
  return { server: { container, endpoint: `${container}:${S3_PORT}`, api, bucket, region, credentials, caCertPem }, ports };
}

/** Remove the server's container, and its network when it has one of its own. */
export async function stopS3Server(docker: Docker, s: Pick<S3Server, 'container'> & { ownNetwork?: string }): Promise<void> {
  await stopAndRemoveContainer(docker, s.container, 5);
  if (s.ownNetwork === undefined) return;
  try {
    await docker.getNetwork(s.ownNetwork).remove();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** The host port Docker published the S3 port on, for each host address. */
async function publishedPorts(docker: Docker, container: string, addresses: string[]): Promise<Map<string, number>> {
  const info = await docker.getContainer(container).inspect();
  const bindings = info.NetworkSettings.Ports?.[`${S3_PORT}/tcp`] ?? [];
  const ports = new Map<string, number>();
  for (const address of addresses) {
    const port = Number(bindings.find((b) => b.HostIp === address)?.HostPort);
    if (!(port > 0)) throw new Error(`${container} has no published port for ${S3_PORT} on ${address}`);
    ports.set(address, port);
  }
  return ports;
}

/** Until a signed ListBuckets answers 200: master, volume server, filer and gateway all up. */
async function waitUntilServing(docker: Docker, container: string, api: S3Endpoint, admin: S3Credentials): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const info = await docker.getContainer(container).inspect();
    if (!info.State.Running) throw new Error(`${container} exited (${info.State.ExitCode}):\n${await logTail(docker, container)}`);
    try {
      const res = await s3Request(api, admin, 'GET', '/');
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${container} did not serve S3 within ${START_TIMEOUT_MS / 1000} s (${last}):\n${await logTail(docker, container)}`);
}

async function logTail(docker: Docker, container: string): Promise<string> {
  const buf = (await docker.getContainer(container).logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
  return demux(buf);
}

