/**
 * The Docker images dbaas runs: a Debian base (pulled, or debootstrapped when no registry
 * answers) and the postgres/etcd/haproxy images built from docker/<name>. Each built image
 * carries the hash of its build context, so `dev up` rebuilds exactly when the context changed.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import * as tar from 'tar-fs';
import { DOCKER_CONTEXT_DIR, type Paths } from '../../common/paths';
import { IMAGES } from '../../common/images';
import { aptInstall, runLogged, seconds, which } from './process-util';
import type { Log } from './types';

/** A Debian base image: pulled where a registry answers, else made by debootstrap of `release`. */
export interface BaseImage { repo: string; tag: string; release: string }
export const BASE_IMAGE: BaseImage = { repo: 'debian', tag: 'bookworm-slim', release: 'bookworm' };
/** The PostgreSQL 17 image's base (docker/postgres17): Debian ships one PostgreSQL major per release. */
export const TRIXIE_BASE_IMAGE: BaseImage = { repo: 'debian', tag: 'trixie-slim', release: 'trixie' };
export const BASE_IMAGES: readonly BaseImage[] = [BASE_IMAGE, TRIXIE_BASE_IMAGE];
export const CONTEXT_HASH_LABEL = 'dbaas.context-hash';
const PULL_TIMEOUT_MS = 20_000;

/** The shape of one line of Docker's JSON progress stream (build, pull, import). */
interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Follow a progress stream to its end; reject on a stream error or an error event inside it. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (e: ProgressEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(err);
        else if (failure !== undefined) reject(new Error(failure));
        else resolve();
      },
      (e: ProgressEvent) => {
        if (e.error || e.errorDetail) failure ??= e.errorDetail?.message ?? e.error ?? 'unknown error';
        onLine?.(e);
      },
    );
  });
}

async function imageLabels(docker: Docker, ref: string): Promise<Record<string, string> | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    return info.Config?.Labels ?? {};
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

/** `base` is overridable so the debootstrap path can be exercised without touching the real tag. */
export async function ensureBaseImage(
  docker: Docker,
  paths: Paths,
  log: Log,
  base: BaseImage = BASE_IMAGE,
): Promise<void> {
  const ref = `${base.repo}:${base.tag}`;
  if ((await imageLabels(docker, ref)) !== undefined) return;
  if (await tryPull(docker, ref, log)) return;
  const tarball = path.join(paths.cache, `debian-${base.release}-minbase.tar`);
  if (!fs.existsSync(tarball)) await debootstrapTarball(paths, base, tarball, log);
  const t0 = Date.now();
  const out = await docker.importImage(fs.createReadStream(tarball), { repo: base.repo, tag: base.tag });
  await followProgress(docker, out);
  if ((await imageLabels(docker, ref)) === undefined) throw new Error(`import of ${tarball} did not produce ${ref}`);
  log(`imported ${ref} from ${tarball} (${seconds(t0)}s)`);
}

/** A registry pull, bounded: with no registry the daemon can otherwise retry DNS for a long time. */
async function tryPull(docker: Docker, ref: string, log: Log): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PULL_TIMEOUT_MS);
  try {
    const stream = await docker.pull(ref, { abortSignal: abort.signal });
    await followProgress(docker, stream);
    log(`pulled ${ref}`);
    return true;
  } catch (e) {
    log(`cannot pull ${ref} (${abort.signal.aborted ? 'timeout' : firstLine(e).trim()}); making it locally`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split('\n')[0];

/** debootstrap a minbase release and tar it; written under a temp name so a killed run leaves no half tarball. */
async function debootstrapTarball(paths: Paths, base: BaseImage, tarball: string, log: Log): Promise<void> {
  const t0 = Date.now();
  const logFile = path.join(paths.logs, `debootstrap-${base.release}.log`);
  if (which('debootstrap') === undefined) {
    if (process.getuid?.() !== 0) throw new Error(`no ${base.repo}:${base.tag} image and no registry: install debootstrap and run as root, or load the image`);
    await aptInstall(['debootstrap'], path.join(paths.logs, 'apt.log'), log);
  }
  fs.mkdirSync(paths.cache, { recursive: true });
  const root = fs.mkdtempSync(path.join(paths.cache, 'rootfs-'));
  const partial = `${tarball}.partial-${process.pid}`;
  log(`debootstrapping Debian ${base.release} (about 30 s; log ${logFile})`);
  try {
    await runLogged('debootstrap', ['--variant=minbase', base.release, root, 'http://deb.debian.org/debian'], logFile);
    await runLogged('tar', ['-C', root, '-cf', partial, '.'], logFile);
    fs.renameSync(partial, tarball);
  } finally {
    fs.rmSync(partial, { force: true });
    removeRootfs(root, log);
  }
  log(`made ${tarball} (${seconds(t0)}s)`);
}

/** Never rm -r through a mount debootstrap left behind (proc, sys, dev of the host). */
function removeRootfs(root: string, log: Log): void {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
  if (mounts.some((m) => m === root || m.startsWith(root + '/'))) {
    log(`left ${root} in place: something is still mounted under it`);
    return;
  }
  fs.rmSync(root, { recursive: true, force: true });
}

/** sha256 over the sorted relative paths and contents of every file under dir (symlinks by target). */
export async function contextHash(dir: string): Promise<string> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const ent of await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) await walk(r);
      else if (ent.isFile() || ent.isSymbolicLink()) files.push(r);
    }
  };
  await walk('');
  files.sort();
  const h = createHash('sha256');
  for (const rel of files) {
    const abs = path.join(dir, rel);
    const st = await fs.promises.lstat(abs);
    const body = st.isSymbolicLink() ? Buffer.from(await fs.promises.readlink(abs)) : await fs.promises.readFile(abs);
    // Length-prefixed so "a"+"bc" and "ab"+"c" cannot collide.
    h.update(`${rel}\0${body.length}\0`);
    h.update(body);
  }
  return h.digest('hex');
}

export type ImageName = keyof typeof IMAGES;

/** Images built from another image's context with build arguments (docker/<context>/Dockerfile's ARGs); the others from docker/<name>. */
const BUILT_FROM: Partial<Record<ImageName, { context: string; buildargs: Record<string, string> }>> = {
  postgres17: { context: 'postgres', buildargs: { DEBIAN_RELEASE: TRIXIE_BASE_IMAGE.release, PG_MAJOR: '17' } },
  postgresUpgrade: { context: 'postgres-upgrade', buildargs: {} },
};

/** Images built FROM other images of ours: built once those are, and again whenever one of them changes. */
const BUILT_ON: Partial<Record<ImageName, ImageName[]>> = {
  postgresUpgrade: ['postgres', 'postgres17'],
};

/** Build (concurrently) every image whose context hash label is missing or stale; those built on others after them. */
export async function ensureImages(docker: Docker, log: Log, contextRoot: string = DOCKER_CONTEXT_DIR): Promise<void> {
  const names = Object.keys(IMAGES) as ImageName[];
  const build = async (n: ImageName): Promise<void> => {
    const from = BUILT_FROM[n];
    // The parents' image ids count as build arguments: a rebuilt parent makes another image.
    const parents = await Promise.all((BUILT_ON[n] ?? []).map(async (p) => [`parent:${p}`, (await docker.getImage(IMAGES[p]).inspect()).Id] as const));
    return ensureImageFromContext(docker, log, IMAGES[n], path.join(contextRoot, from?.context ?? n), { ...from?.buildargs }, Object.fromEntries(parents));
  };
  const failures = async (batch: ImageName[]): Promise<string[]> =>
    (await Promise.allSettled(batch.map(build))).flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
  const first = await failures(names.filter((n) => BUILT_ON[n] === undefined));
  if (first.length > 0) throw new Error(first.join('\n\n'));
  const second = await failures(names.filter((n) => BUILT_ON[n] !== undefined));
  if (second.length > 0) throw new Error(second.join('\n\n'));
}

/** Build the image `tag` from the context dir unless an image with the same context hash exists. */
export async function ensureImageFromContext(docker: Docker, log: Log, tag: string, dir: string, buildargs: Record<string, string> = {}, parents: Record<string, string> = {}): Promise<void> {
  const t0 = Date.now();
  if (!fs.existsSync(path.join(dir, 'Dockerfile'))) throw new Error(`no Dockerfile in ${dir}`);
  // The arguments (and the images it is built on) are part of what is built: another value makes another image.
  const args = Object.entries({ ...buildargs, ...parents }).sort(([a], [b]) => a.localeCompare(b));
  const hash = args.length === 0 ? await contextHash(dir) : createHash('sha256').update(`${await contextHash(dir)}\0${JSON.stringify(args)}`).digest('hex');
  const labels = await imageLabels(docker, tag);
  if (labels?.[CONTEXT_HASH_LABEL] === hash) {
    log(`image ${tag} up to date (${seconds(t0)}s)`);
    return;
  }
  const tail: string[] = [];
  try {
    // tar-fs 3 packs into a streamx stream; Readable.from gives docker-modem the Node stream it expects.
    const context = Readable.from(tar.pack(dir));
    const stream = await docker.buildImage(context, { t: tag, labels: { [CONTEXT_HASH_LABEL]: hash }, rm: true, forcerm: true, ...(Object.keys(buildargs).length > 0 ? { buildargs } : {}) });
    await followProgress(docker, stream, (e) => {
      // RUN stderr comes wrapped in terminal colour codes; keep the error text plain.
      const text = (e.stream ?? e.status)?.replace(/\x1b\[[0-9;]*m/g, '');
      if (text) tail.push(...text.split('\n').filter((l) => l.trim() !== ''));
      if (tail.length > 40) tail.splice(0, tail.length - 40);
    });
  } catch (e) {
    throw new Error(`building ${tag} from ${dir} failed: ${firstLine(e)}\n${tail.slice(-15).join('\n')}`);
  }
  log(`image ${tag} built (${seconds(t0)}s)`);
}
