/**
 * Docker resources by deterministic name: "already exists and matches" counts as done, so a
 * retried activity never makes a second container, network or volume.
 */
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { BRIDGE_NAME_OPTION, bridgeName, networkName } from '../common/resource-names';
import { LABEL_CLUSTER, LABEL_GENERATION, LABEL_MEMBER, LABEL_REPOSITORY, LABEL_ROLE, LABEL_TEST_RUN } from '../common/labels';
import { ErrorTypes, finalError } from './errors';
import { demux, type ExecResult } from './hosts/engine-api';

export { demux, type ExecResult };

export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

function isConflict(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 409;
}

/**
 * Set by the tests in their workers' environment: every network, volume and container the worker
 * creates then carries the test run's label, so leftovers of a test run are told from a user's
 * clusters by label, never by name.
 */
export const TEST_RUN_ENV = 'DBAAS_TEST_RUN';

/** A new resource's labels: its own, plus the test run's when the worker serves one. */
export function withRunLabel(labels: Record<string, string>): Record<string, string> {
  const run = process.env[TEST_RUN_ENV];
  return run ? { ...labels, [LABEL_TEST_RUN]: run } : labels;
}

function labelsMatch(actual: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return [LABEL_CLUSTER, LABEL_ROLE, LABEL_MEMBER].every((k) => (actual ?? {})[k] === wanted[k]);
}

export async function ensureNetwork(docker: Docker, cluster: string, labels: Record<string, string>, o: { overlay?: boolean } = {}): Promise<string> {
  const name = networkName(cluster);
  try {
    const info = (await docker.getNetwork(name).inspect()) as { Id: string; Labels?: Record<string, string> };
    if (!labelsMatch(info.Labels, labels)) {
      throw finalError(ErrorTypes.ResourceConflict, `network ${name} exists but does not belong to cluster ${cluster}`);
    }
    return info.Id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    // A bridge named with our prefix is covered by `dev up`'s DOCKER-USER rule from its first packet.
    const net = await docker.createNetwork({
      Name: name,
      ...(o.overlay
        ? { Driver: 'overlay', Attachable: true }
        : { Driver: 'bridge', Options: { [BRIDGE_NAME_OPTION]: bridgeName(cluster) } }),
      Labels: withRunLabel(labels),
      CheckDuplicate: true,
    });
    return net.id;
  } catch (err) {
    // A concurrent attempt created it between our inspect and create.
    if (isConflict(err)) return ensureNetwork(docker, cluster, labels, o);
    throw err;
  }
}

export async function ensureVolume(docker: Docker, name: string, labels: Record<string, string>): Promise<void> {
  try {
    const info = await docker.getVolume(name).inspect();
    if (!labelsMatch(info.Labels ?? undefined, labels)) {
      throw finalError(ErrorTypes.ResourceConflict, `volume ${name} exists but does not belong to this member`);
    }
    // A data volume holds one generation's data: a member of another never starts on it. One
    // without the label (the first generation's, or made before volumes were labelled) is taken as it is.
    const held = info.Labels?.[LABEL_GENERATION];
    if (held !== undefined && held !== labels[LABEL_GENERATION]) {
      throw finalError(ErrorTypes.ResourceConflict, `volume ${name} holds generation ${held}'s data, not generation ${labels[LABEL_GENERATION] ?? 1}'s`);
    }
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await docker.createVolume({ Name: name, Labels: withRunLabel(labels) });
}

export interface FileToPut {
  dir: string;
  name: string;
  content: string;
  mode: number;
  uid: number;
  gid: number;
}

export function tarOf(f: FileToPut): Promise<Buffer> {
  return tarOfFiles([f]);
}

/** One tar of files that go into one directory (each entry named by its file name). */
function tarOfFiles(files: FileToPut[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
    for (const f of files) {
      pack.entry({ name: f.name, mode: f.mode, uid: f.uid, gid: f.gid }, f.content, (err) => {
        if (err) reject(err);
      });
    }
    pack.finalize();
  });
}

/**
 * Write files into a container: one archive per directory. The engine mounts a stopped
 * container's file system for every archive it extracts (~0.14 s each, measured on a created
 * container), so six files in two directories cost two of those instead of six.
 */
export async function putFiles(container: Docker.Container, files: FileToPut[]): Promise<void> {
  const byDir = new Map<string, FileToPut[]>();
  for (const f of files) byDir.set(f.dir, [...(byDir.get(f.dir) ?? []), f]);
  for (const [dir, inDir] of byDir) await container.putArchive(await tarOfFiles(inDir), { path: dir });
}

export interface ContainerWanted {
  name: string;
  labels: Record<string, string>;
  create: Docker.ContainerCreateOptions;
  /** Files written into the container before its first start (configs that hold secrets). */
  files?: FileToPut[];
}

export interface EnsuredContainer {
  id: string;
  created: boolean;
}

/**
 * Docker's "driver failed programming external connectivity … listen tcp4 127.0.0.1:N: bind:
 * address already in use" names the cause last; say it first. Still retryable: a port held by
 * a short-lived connection frees itself.
 */
export function explainStartFailure(container: string, err: unknown): unknown {
  const m = /listen tcp\d?\s+([\d.:]+): bind: address already in use/.exec(String((err as Error)?.message ?? ''));
  return m ? new Error(`cannot start ${container}: host port ${m[1]} is already in use by another process`) : err;
}

/**
 * Create (if absent) and start the container. A container with this name and our labels is
 * reused; one with this name but other labels is a conflict, never touched.
 */
export async function ensureContainerRunning(docker: Docker, w: ContainerWanted): Promise<EnsuredContainer> {
  let created = false;
  let info: Docker.ContainerInspectInfo | undefined;
  try {
    info = await docker.getContainer(w.name).inspect();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (info && !labelsMatch(info.Config.Labels, w.labels)) {
    throw finalError(ErrorTypes.ResourceConflict, `container ${w.name} exists but does not belong to this cluster member`);
  }
  if (!info) {
    try {
      await docker.createContainer({ ...w.create, name: w.name, Labels: withRunLabel({ ...(w.create.Labels ?? {}), ...w.labels }) });
      created = true;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    info = await docker.getContainer(w.name).inspect();
  }
  const container = docker.getContainer(info.Id);
  if (!info.State.Running) {
    // Files are (re)written before every start: same content, so a retry is harmless.
    await putFiles(container, w.files ?? []);
    try {
      await container.start();
    } catch (err) {
      // 304: already started by a concurrent attempt.
      if ((err as { statusCode?: number }).statusCode !== 304) throw explainStartFailure(w.name, err);
    }
  }
  return { id: info.Id, created };
}

/**
 * Remove our container when its layout (image, mounts, extra hosts, repository kind) differs from the
 * wanted one (Docker cannot change them on an existing container), after a graceful stop within
 * its StopTimeout. Volumes stay.
 * Returns whether it was removed; absent or matching containers are left alone.
 */
export async function removeIfLayoutDiffers(docker: Docker, w: ContainerWanted): Promise<boolean> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(w.name).inspect();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (!labelsMatch(info.Config.Labels, w.labels)) {
    throw finalError(ErrorTypes.ResourceConflict, `container ${w.name} exists but does not belong to this cluster member`);
  }
  // What Docker cannot change on a container: its image (a major upgrade), its mounts, its extra
  // hosts, its repository kind (an S3 member mounts nothing new, but reaches its bucket by another
  // config and label).
  const layout = (image: string | undefined, binds: string[] | undefined, hosts: string[] | undefined, repository: string | undefined): string =>
    JSON.stringify([image ?? null, [...(binds ?? [])].sort(), [...(hosts ?? [])].sort(), repository ?? null]);
  const have = layout(info.Config.Image, info.HostConfig.Binds, info.HostConfig.ExtraHosts as string[] | undefined, info.Config.Labels?.[LABEL_REPOSITORY]);
  const want = layout(w.create.Image, w.create.HostConfig?.Binds, w.create.HostConfig?.ExtraHosts as string[] | undefined, w.create.Labels?.[LABEL_REPOSITORY]);
  if (have === want) return false;
  await stopAndRemoveContainer(docker, info.Id, w.create.StopTimeout ?? 10);
  return true;
}

/** Graceful stop within stopTimeoutSec, then remove; volumes stay. Absent, stopped or already being removed counts as done. */
export async function stopAndRemoveContainer(docker: Docker, nameOrId: string, stopTimeoutSec: number): Promise<void> {
  const ct = docker.getContainer(nameOrId);
  try {
    await ct.stop({ t: stopTimeoutSec });
  } catch (err) {
    // 304: already stopped.
    if ((err as { statusCode?: number }).statusCode !== 304 && !isNotFound(err)) throw err;
  }
  try {
    await ct.remove({ v: false });
  } catch (err) {
    // 409: a removal is already in progress.
    if (!isNotFound(err) && !isConflict(err)) throw err;
  }
}

/** Whether Docker finds the thing `inspect` asks for (404: no). */
async function found(inspect: () => Promise<unknown>): Promise<boolean> {
  try {
    await inspect();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export const containerExists = (docker: Docker, name: string): Promise<boolean> => found(() => docker.getContainer(name).inspect());
export const volumeExists = (docker: Docker, name: string): Promise<boolean> => found(() => docker.getVolume(name).inspect());

export interface RemovalReport {
  containers: number;
  volumes: number;
  networks: number;
}

/** Which of a cluster's volumes a removal keeps: the data volumes (etcd, postgres), the backup repository. */
export interface KeptOnRemoval {
  data: boolean;
  backups: boolean;
}

/** Remove everything labelled with the cluster but the volumes it keeps. Idempotent: absent things count as removed. */
export async function removeClusterResources(docker: Docker, cluster: string, keep: KeptOnRemoval, stopTimeoutSec: number): Promise<RemovalReport> {
  const containers = (await removeClusterContainers(docker, cluster, stopTimeoutSec, (l) => l[LABEL_ROLE] !== 'etcd')) +
    (await removeClusterContainers(docker, cluster, stopTimeoutSec, (l) => l[LABEL_ROLE] === 'etcd'));
  return { ...(await removeClusterNetworksAndVolumes(docker, cluster, keep)), containers };
}

/**
 * The cluster's containers on one engine. A cluster across hosts loses its containers on every
 * host before its overlay network goes: the swarm refuses to remove a network with endpoints.
 */
export async function removeClusterContainers(
  docker: Docker, cluster: string, stopTimeoutSec: number, which: (labels: Record<string, string>) => boolean,
): Promise<number> {
  const filter = { label: [`${LABEL_CLUSTER}=${cluster}`] };
  const report = { containers: 0 };
  const containers = (await docker.listContainers({ all: true, filters: filter })).filter((c) => which(c.Labels));
  await Promise.all(
    containers.map(async (c) => {
      const ct = docker.getContainer(c.Id);
      try {
        if (c.State === 'running') await ct.stop({ t: stopTimeoutSec });
      } catch (err) {
        if (!isNotFound(err) && (err as { statusCode?: number }).statusCode !== 304) throw err;
      }
      try {
        await ct.remove({ force: true, v: false });
        report.containers++;
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }),
  );
  return report.containers;
}

/** The cluster's networks and the volumes it does not keep, on one engine (its containers gone). */
export async function removeClusterNetworksAndVolumes(docker: Docker, cluster: string, keep: KeptOnRemoval): Promise<Omit<RemovalReport, 'containers'>> {
  const filter = { label: [`${LABEL_CLUSTER}=${cluster}`] };
  const report = { volumes: 0, networks: 0 };
  const nets = await docker.listNetworks({ filters: filter });
  for (const n of nets) {
    try {
      // What joined the network from outside the cluster (the repository host) leaves it first.
      const joined = ((await docker.getNetwork(n.Id).inspect()) as { Containers?: Record<string, unknown> }).Containers ?? {};
      for (const id of Object.keys(joined)) {
        await docker.getNetwork(n.Id).disconnect({ Container: id, Force: true }).catch((err: unknown) => {
          if (!isNotFound(err) && !/is not connected/.test(String((err as Error).message))) throw err;
        });
      }
      await docker.getNetwork(n.Id).remove();
      report.networks++;
    } catch (err) {
      // An overlay seen from a swarm worker: its manager removes it, and it vanishes here once unused.
      if (!isNotFound(err) && !(n.Scope === 'swarm' && /not a swarm manager/.test(String((err as Error).message)))) throw err;
    }
  }
  const vols = await docker.listVolumes({ filters: filter });
  for (const v of vols.Volumes ?? []) {
    const isRepository = v.Labels?.[LABEL_ROLE] === 'backup';
    if (isRepository ? keep.backups : keep.data) continue;
    try {
      await docker.getVolume(v.Name).remove();
      report.volumes++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return report;
}

/** Run a command inside a running container (docker exec), collecting stdout+stderr. */
export async function execIn(docker: Docker, container: string, cmd: string[], stdin?: string): Promise<ExecResult> {
  const ct = docker.getContainer(container);
  const exec = await ct.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: stdin !== undefined });
  const stream = await exec.start({ hijack: stdin !== undefined, stdin: stdin !== undefined });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  if (stdin !== undefined) stream.end(stdin);
  await done;
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
}

/** Read one file out of a container (docker cp out), or undefined if it is absent. */
export async function readFileIn(docker: Docker, container: string, file: string): Promise<string | undefined> {
  try {
    const stream = await docker.getContainer(container).getArchive({ path: file });
    const extract = tar.extract();
    return await new Promise<string | undefined>((resolve, reject) => {
      let content: string | undefined;
      extract.on('entry', (_header, s, next) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: unknown) => chunks.push(c as Buffer));
        s.on('end', () => {
          content ??= Buffer.concat(chunks).toString('utf8');
          next();
        });
        s.resume();
      });
      extract.on('finish', () => resolve(content));
      extract.on('error', reject);
      stream.pipe(extract);
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

