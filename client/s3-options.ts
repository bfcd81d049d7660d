/**
 * `--backup-to repository-host|volume|s3://BUCKET/PREFIX` and the `--s3-*` options: checked here
 * (one line, exit 2, nothing changed) and turned into the workflow's RepositoryRequest. Without
 * --backup-to a new repository goes to the repository host. For S3 the credentials are read from
 * the user's file or environment and staged in DBAAS_HOME for the worker: the workflow input
 * names them by reference only.
 */
import * as fs from 'node:fs';
import * as ini from 'ini';
import type { Paths } from '../common/paths';
import {
  REPOSITORY_HOST_TARGET, VOLUME_TARGET, isS3UriStyle, parseBackupTo, parseS3Endpoint, regionProblem, type RepositoryLocation, type RepositoryRequest, type S3Location,
} from '../common/repository';
import { stageS3Credentials, type S3Credentials } from '../activities/s3-credentials';
import { UsageError } from './errors';

export interface S3Options {
  backupTo?: string;
  s3Endpoint?: string;
  s3Region?: string;
  /** An AWS shared-credentials file ([default] aws_access_key_id, aws_secret_access_key). */
  s3Credentials?: string;
  /** PEM of a private CA the endpoint's certificate chains to. */
  s3Ca?: string;
  s3UriStyle?: string;
}

const S3_FLAGS = { s3Endpoint: '--s3-endpoint', s3Region: '--s3-region', s3Credentials: '--s3-credentials', s3Ca: '--s3-ca', s3UriStyle: '--s3-uri-style' } as const;

const ok = <T>(r: { ok: T } | { problem: string }): T => {
  if ('problem' in r) throw new UsageError(r.problem);
  return r.ok;
};

/** The S3 location the options name, or undefined when --backup-to names none (then no --s3-* option may be given). */
export function s3LocationFrom(o: S3Options): S3Location | undefined {
  if (o.backupTo === undefined || o.backupTo === REPOSITORY_HOST_TARGET || o.backupTo === VOLUME_TARGET) {
    const stray = (Object.keys(S3_FLAGS) as (keyof typeof S3_FLAGS)[]).find((k) => o[k] !== undefined);
    if (stray) throw new UsageError(o.backupTo === undefined ? `${S3_FLAGS[stray]} needs --backup-to s3://BUCKET/PREFIX` : `${S3_FLAGS[stray]} is for an S3 bucket, not --backup-to ${o.backupTo}`);
    return undefined;
  }
  const { bucket, path } = ok(parseBackupTo(o.backupTo));
  if (o.s3Region === undefined) throw new UsageError('--backup-to needs --s3-region (the bucket\'s region; us-east-1 for most self-hosted servers)');
  const region = o.s3Region;
  const bad = regionProblem(region);
  if (bad) throw new UsageError(bad);
  const { endpoint, port } = ok(parseS3Endpoint(o.s3Endpoint, region));
  const style = o.s3UriStyle ?? (o.s3Endpoint === undefined ? 'host' : 'path');
  if (!isS3UriStyle(style)) throw new UsageError(`--s3-uri-style must be path or host, got "${style}"`);
  return { type: 's3', bucket, path, endpoint, port, region, uriStyle: style, privateCa: o.s3Ca !== undefined };
}

/** The credentials from --s3-credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; and the CA from --s3-ca. */
export function s3CredentialsFrom(o: S3Options, env: NodeJS.ProcessEnv): S3Credentials {
  let accessKey: string | undefined;
  let secretKey: string | undefined;
  if (o.s3Credentials !== undefined) {
    const text = readUserFile(o.s3Credentials, '--s3-credentials');
    const profile = (ini.parse(text) as Record<string, Record<string, unknown> | undefined>).default;
    accessKey = typeof profile?.aws_access_key_id === 'string' ? profile.aws_access_key_id : undefined;
    secretKey = typeof profile?.aws_secret_access_key === 'string' ? profile.aws_secret_access_key : undefined;
    if (!accessKey || !secretKey) throw new UsageError(`--s3-credentials ${o.s3Credentials}: needs a [default] section with aws_access_key_id and aws_secret_access_key`);
  } else {
    accessKey = env.AWS_ACCESS_KEY_ID;
    secretKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKey || !secretKey) throw new UsageError('--backup-to needs credentials: --s3-credentials FILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment');
  }
  // pgBackRest reads them from its config file, one value per line.
  if (/[\s]/.test(accessKey) || /[\s]/.test(secretKey)) throw new UsageError('the S3 access key and secret may not contain white space');
  const caPem = o.s3Ca === undefined ? undefined : readUserFile(o.s3Ca, '--s3-ca');
  if (caPem !== undefined && !/-----BEGIN CERTIFICATE-----/.test(caPem)) throw new UsageError(`--s3-ca ${o.s3Ca}: not a PEM certificate`);
  return { accessKey, secretKey, ...(caPem ? { caPem } : {}) };
}

function readUserFile(file: string, option: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${option} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** The type of repository the options ask for, before anything is staged (placement refuses some on added hosts). */
export function repositoryTypeFrom(o: S3Options, defaultToHost = true): RepositoryLocation['type'] {
  if (s3LocationFrom(o)) return 's3';
  if (o.backupTo === REPOSITORY_HOST_TARGET) return 'host';
  return o.backupTo === VOLUME_TARGET || !defaultToHost ? 'volume' : 'host';
}

/**
 * The repository a new backup repository goes to, checked, with S3 credentials staged (the caller
 * discards the staging if the workflow does not start): the repository host (also without
 * --backup-to, unless `defaultToHost` is false), a bucket, or undefined for a volume of the
 * cluster's (`--backup-to volume`, the layout before the repository host).
 */
export function repositoryRequestFrom(o: S3Options, paths: Paths, env: NodeJS.ProcessEnv, defaultToHost = true): RepositoryRequest | undefined {
  const location = s3LocationFrom(o);
  if (location) return { location, credentialsRef: stageS3Credentials(paths, s3CredentialsFrom(o, env)) };
  if (o.backupTo === REPOSITORY_HOST_TARGET || (o.backupTo === undefined && defaultToHost)) return { location: { type: 'host' } };
  return undefined;
}
