/**
 * A cluster's S3 credentials (and the private CA of its endpoint, if any), in
 * DBAAS_HOME/secrets/<cluster>.s3.json (mode 0600): kept with the repository after a delete, as
 * the backup passphrase is, and removed with it.
 *
 * They never pass through Temporal. The CLI, which runs on the worker's machine and reads the
 * user's file or environment, stages them in secrets/staged/<ref>.json and starts the workflow
 * with the reference only; the workflow's first repository step adopts the staged file as the
 * cluster's. A staged file nobody adopted is removed by the CLI when the workflow did not start,
 * and by the adopt step of any later create after a day.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { Paths } from '../common/paths';
import { insideDir } from './home-paths';
import { ErrorTypes, finalError } from './errors';

export interface S3Credentials {
  accessKey: string;
  secretKey: string;
  /** PEM of a private CA the endpoint's certificate chains to. */
  caPem?: string;
}

interface StoredCredentials extends S3Credentials {
  /** The staged file this came from: a retried adopt recognises its own. */
  ref: string;
}

const STAGED_DIR = 'staged';
const STALE_STAGED_MS = 24 * 3600 * 1000;

const clusterFile = (paths: Paths, cluster: string): string => insideDir(paths.secrets, `${cluster}.s3.json`);
const stagedFile = (paths: Paths, ref: string): string => insideDir(paths.secrets, STAGED_DIR, `${ref}.json`);

/** CLI side: write the credentials to a fresh staged file (0600) and return its reference. */
export function stageS3Credentials(paths: Paths, c: S3Credentials): string {
  const ref = crypto.randomBytes(16).toString('hex');
  fs.mkdirSync(insideDir(paths.secrets, STAGED_DIR), { recursive: true, mode: 0o700 });
  fs.writeFileSync(stagedFile(paths, ref), JSON.stringify(c), { mode: 0o600, flag: 'wx' });
  return ref;
}

export function discardStagedS3Credentials(paths: Paths, ref: string): void {
  fs.rmSync(stagedFile(paths, ref), { force: true });
}

/**
 * Make the staged credentials the cluster's. Idempotent: a retry finds the cluster's file made
 * from the same reference. A cluster file from another reference is never replaced.
 */
export function adoptS3Credentials(paths: Paths, cluster: string, ref: string): void {
  const target = clusterFile(paths, cluster);
  const existing = readStored(target);
  if (existing?.ref === ref) return;
  const staged = stagedFile(paths, ref);
  let creds: S3Credentials;
  try {
    creds = JSON.parse(fs.readFileSync(staged, 'utf8')) as S3Credentials;
  } catch {
    throw finalError(ErrorTypes.SecretsMissing, `the S3 credentials staged for ${cluster} are gone (the CLI stages them right before it starts the workflow); run the command again`);
  }
  if (existing && (existing.accessKey !== creds.accessKey || existing.secretKey !== creds.secretKey || existing.caPem !== creds.caPem)) {
    throw finalError(ErrorTypes.ResourceConflict, `cluster ${cluster} already has other S3 credentials`);
  }
  const stored: StoredCredentials = { ...creds, ref };
  fs.mkdirSync(paths.secrets, { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${target}.tmp`, JSON.stringify(stored), { mode: 0o600 });
  fs.renameSync(`${target}.tmp`, target);
  fs.rmSync(staged, { force: true });
  removeStaleStaged(paths);
}

function readStored(file: string): StoredCredentials | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredCredentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The cluster's S3 credentials, or a final error when they are gone (nothing can reach its bucket without them). */
export function readS3Credentials(paths: Paths, cluster: string): S3Credentials {
  const c = readStored(clusterFile(paths, cluster));
  if (!c) throw finalError(ErrorTypes.SecretsMissing, `the S3 credentials of ${cluster} are missing (${clusterFile(paths, cluster)})`);
  return { accessKey: c.accessKey, secretKey: c.secretKey, ...(c.caPem ? { caPem: c.caPem } : {}) };
}

export function deleteS3Credentials(paths: Paths, cluster: string): void {
  fs.rmSync(clusterFile(paths, cluster), { force: true });
}

function removeStaleStaged(paths: Paths): void {
  const dir = insideDir(paths.secrets, STAGED_DIR);
  for (const f of fs.readdirSync(dir)) {
    const file = insideDir(dir, f);
    if (Date.now() - fs.statSync(file).mtimeMs > STALE_STAGED_MS) fs.rmSync(file, { force: true });
  }
}
