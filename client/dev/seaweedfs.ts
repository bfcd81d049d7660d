/**
 * SeaweedFS, the S3 server the tests run on this machine (pgBackRest against real S3). Nothing on
 * Debian or npm ships it and its go.mod has a `replace` directive, so `go install` refuses it: we
 * download the module and `go build ./weed` inside it, once, into DBAAS_CACHE/bin, then wrap the
 * static binary in an image on the Debian base so containers on a cluster's network can run it.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { DOCKER_CONTEXT_DIR, type Paths } from '../../common/paths';
import { ensureImageFromContext } from './images';
import { isExecutable, runLogged, seconds, which } from './process-util';
import type { Log } from './types';

export const SEAWEEDFS_MODULE = 'github.com/seaweedfs/seaweedfs';
/** The pseudo-version the module proxy serves (SeaweedFS 4.53, commit 7506e5f91cd6). */
export const SEAWEEDFS_VERSION = 'v0.0.0-20261109003541-7506e5f91cd6';
/** Stamped into the binary (upstream's own COMMIT variable), so `weed version` tells a stale cache. */
const SEAWEEDFS_COMMIT = SEAWEEDFS_VERSION.slice(-12);
export const SEAWEEDFS_IMAGE = 'dbaas/seaweedfs:local';
const SEAWEEDFS_CONTEXT_DIR = path.join(DOCKER_CONTEXT_DIR, 'seaweedfs');

export const seaweedfsBinaryPath = (paths: Paths): string => path.join(paths.cacheBin, 'weed');
export const seaweedfsBuildLog = (paths: Paths): string => path.join(paths.logs, 'seaweedfs-build.log');

/** The cached binary, if one was built (whatever its version: tests use what is there). */
export function findSeaweedfsBinary(paths: Paths): string | undefined {
  const bin = seaweedfsBinaryPath(paths);
  return isExecutable(bin) ? bin : undefined;
}

function output(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ ok: err === null, stdout, stderr }));
  });
}

/** `weed version` prints "version 30GB 4.53 <commit> linux amd64": ours carries the pinned commit. */
async function isPinnedBuild(bin: string): Promise<boolean> {
  const r = await output(bin, ['version']);
  return r.ok && r.stdout.split(/\s+/).includes(SEAWEEDFS_COMMIT);
}

/** Build the pinned SeaweedFS unless the cache holds it. Takes minutes of CPU the first time. */
export async function ensureSeaweedfsBinary(paths: Paths, log: Log): Promise<string> {
  const bin = seaweedfsBinaryPath(paths);
  if (isExecutable(bin) && (await isPinnedBuild(bin))) return bin;
  const go = which('go', ['/usr/local/go/bin/go']);
  if (go === undefined) throw new Error('no Go toolchain to build it (https://go.dev/dl)');
  const logFile = seaweedfsBuildLog(paths);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The module cache beside the Temporal CLI's; writable so `rm -rf` of the cache works.
    GOPATH: path.join(paths.cache, 'go'),
    GOCACHE: path.join(paths.cache, 'go-build'),
    // Set, not inherited: a GOFLAGS=-mod=vendor from the caller's shell would break the build.
    GOFLAGS: '-modcacherw -buildvcs=false',
    CGO_ENABLED: '0',
  };
  const t0 = Date.now();
  log(`building SeaweedFS ${SEAWEEDFS_VERSION} (several minutes, once; log ${logFile})`);
  const moduleDir = await downloadModule(go, env, logFile);
  fs.mkdirSync(paths.cacheBin, { recursive: true });
  const partial = `${bin}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    const ldflags = `-s -w -X ${SEAWEEDFS_MODULE}/weed/util/version.COMMIT=${SEAWEEDFS_COMMIT}`;
    // `go -C`: the module directory is the main module (its replace directive applies there).
    await runLogged(go, ['-C', moduleDir, 'build', '-trimpath', `-ldflags=${ldflags}`, '-o', partial, './weed'], logFile, env);
    fs.renameSync(partial, bin);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  log(`built ${bin} (${seconds(t0)}s, ${Math.round(fs.statSync(bin).size / 1e6)} MB)`);
  return bin;
}

/** `go mod download -json` of the pinned module; returns its (read-only unless -modcacherw) directory. */
async function downloadModule(go: string, env: NodeJS.ProcessEnv, logFile: string): Promise<string> {
  const mod = `${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION}`;
  const r = await output(go, ['mod', 'download', '-json', mod], env);
  fs.appendFileSync(logFile, `--- ${new Date().toISOString()} go mod download -json ${mod}\n${r.stdout}${r.stderr}`);
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(r.stdout) as typeof info;
  } catch {
    // No JSON: go itself failed; stderr says why.
  }
  if (!r.ok || info.Dir === undefined) throw new Error(`go mod download ${mod} failed: ${(info.Error ?? r.stderr).trim().split('\n')[0]}`);
  return info.Dir;
}

/**
 * The image `dbaas/seaweedfs:local`: docker/seaweedfs/Dockerfile with the cached binary beside it.
 * Its context hash covers the binary, so a rebuilt binary makes a new image.
 */
export async function ensureSeaweedfsImage(docker: Docker, paths: Paths, log: Log): Promise<void> {
  const bin = findSeaweedfsBinary(paths);
  if (bin === undefined) throw new Error(`no SeaweedFS binary at ${seaweedfsBinaryPath(paths)}: run \`dbaas dev up\``);
  const context = fs.mkdtempSync(path.join(paths.cache, 'seaweedfs-context-'));
  try {
    fs.copyFileSync(path.join(SEAWEEDFS_CONTEXT_DIR, 'Dockerfile'), path.join(context, 'Dockerfile'));
    // Same filesystem (both in the cache): a link, not a 100 MB copy.
    fs.linkSync(bin, path.join(context, 'weed'));
    await ensureImageFromContext(docker, log, SEAWEEDFS_IMAGE, context);
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}
