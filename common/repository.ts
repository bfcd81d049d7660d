/**
 * Where a cluster's pgBackRest repository lives: a Docker volume on this host (the default), or
 * a bucket in any S3-compatible object store. Pure: the CLI parses and checks `--backup-to` and
 * `--s3-endpoint` with it, the workflow checks its input again, the activities render configs.
 *
 * Credentials are not part of a location: they reach the worker through a staged 0600 file in
 * DBAAS_HOME (activities/s3-credentials.ts), named in the workflow input by a random reference.
 */

export interface S3Location {
  type: 's3';
  bucket: string;
  /** The repository path inside the bucket, with a leading slash: pgBackRest's repo1-path. */
  path: string;
  /** Host name of the endpoint (no scheme, no port). */
  endpoint: string;
  port: number;
  region: string;
  /** path: https://endpoint/bucket/… (MinIO, SeaweedFS, most self-hosted); host: https://bucket.endpoint/… (AWS). */
  uriStyle: S3UriStyle;
  /** A private CA the endpoint's certificate chains to was given (`--s3-ca`); it is kept beside the credentials. */
  privateCa: boolean;
}

/**
 * The control plane's repository host (a `dbaas-backup` container with its own volume): one
 * stanza per cluster, reached by the members over TLS, never mounted by them. `host` is the
 * container's name, written by the worker when it makes the stanza.
 */
export interface HostLocation {
  type: 'host';
  host: string;
}

export type RepositoryLocation = { type: 'volume' } | S3Location | HostLocation;
export type S3UriStyle = 'path' | 'host';

export const VOLUME_REPOSITORY: RepositoryLocation = { type: 'volume' };

/** The repository of a new cluster as the create workflow gets it: where, and which staged credentials to adopt. */
export interface S3RepositoryRequest {
  location: S3Location;
  /** The staged credentials file's reference (random hex, not a secret). */
  credentialsRef: string;
}

/** A new cluster's stanza on the repository host: nothing to name, the worker knows its host. */
export interface HostRepositoryRequest {
  location: { type: 'host' };
}

/** Where a new cluster (or one that gets backups) keeps them, when not on a volume of its own. */
export type RepositoryRequest = S3RepositoryRequest | HostRepositoryRequest;

/** `--backup-to repository-host`: the control plane's repository host. */
export const REPOSITORY_HOST_TARGET = 'repository-host';
/** `--backup-to volume`: a volume of the cluster's, mounted by its members (the layout before the repository host). */
export const VOLUME_TARGET = 'volume';

export const isS3Request = (r: RepositoryRequest): r is S3RepositoryRequest => r.location.type === 's3';

export const DEFAULT_S3_PATH = '/dbaas';
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{1,32}$/;
/** Host names only: pgBackRest checks a certificate's DNS names, never IP addresses. */
const HOST = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
const REF = /^[0-9a-f]{32}$/;

type Parsed<T> = { ok: T } | { problem: string };

/** `s3://BUCKET[/PREFIX]`: the bucket and the repository path in it (default /dbaas). */
export function parseBackupTo(url: string): Parsed<{ bucket: string; path: string }> {
  const m = /^s3:\/\/([^/]*)(\/.*)?$/.exec(url);
  if (!m) return { problem: `--backup-to must be repository-host, volume or look like s3://BUCKET/PREFIX, got "${url}"` };
  const bucket = m[1];
  if (!BUCKET.test(bucket) || bucket.includes('..')) return { problem: `--backup-to: "${bucket}" is not an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')` };
  const segments = (m[2] ?? '').split('/').filter((s) => s !== '');
  const bad = segments.find((s) => !PATH_SEGMENT.test(s) || s === '.' || s === '..');
  if (bad !== undefined) return { problem: `--backup-to: prefix segment "${bad}" may only hold letters, digits, '.', '_' and '-'` };
  return { ok: { bucket, path: segments.length > 0 ? `/${segments.join('/')}` : DEFAULT_S3_PATH } };
}

/** `https://HOST[:PORT]` (pgBackRest 2.45 speaks HTTPS only); without one, AWS's endpoint for the region. */
export function parseS3Endpoint(url: string | undefined, region: string): Parsed<{ endpoint: string; port: number }> {
  if (url === undefined) return { ok: { endpoint: `s3.${region}.amazonaws.com`, port: 443 } };
  const m = /^https:\/\/([^/:]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) {
    return { problem: /^http:/.test(url) ? `--s3-endpoint must be https:// (pgBackRest reaches S3 over TLS only), got "${url}"` : `--s3-endpoint must look like https://HOST[:PORT], got "${url}"` };
  }
  const port = m[2] === undefined ? 443 : Number(m[2]);
  if (!HOST.test(m[1]) || /^[\d.]+$/.test(m[1])) return { problem: `--s3-endpoint needs a host name (certificates are checked by name, not IP address), got "${m[1]}"` };
  if (port < 1 || port > 65535) return { problem: `--s3-endpoint port must be 1-65535, got ${port}` };
  return { ok: { endpoint: m[1], port } };
}

/** One line on what is wrong with a location (a workflow's own check of its input), or undefined. */
export function s3LocationProblem(l: S3Location): string | undefined {
  if (!BUCKET.test(l.bucket)) return `"${l.bucket}" is not an S3 bucket name`;
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(l.path) || l.path.split('/').some((s) => s === '.' || s === '..')) return `"${l.path}" is not a repository path`;
  if (!HOST.test(l.endpoint)) return `"${l.endpoint}" is not an S3 endpoint host`;
  if (!Number.isInteger(l.port) || l.port < 1 || l.port > 65535) return `${l.port} is not a port`;
  if (!REGION.test(l.region)) return `"${l.region}" is not an S3 region`;
  if (l.uriStyle !== 'path' && l.uriStyle !== 'host') return `"${String(l.uriStyle)}" is not an S3 URI style (path or host)`;
  return undefined;
}

export function repositoryRequestProblem(r: RepositoryRequest): string | undefined {
  if (!isS3Request(r)) return r.location.type === 'host' ? undefined : `"${String((r.location as { type: unknown }).type)}" is not a repository type`;
  if (!REF.test(r.credentialsRef)) return 'the staged S3 credentials reference is malformed';
  return s3LocationProblem(r.location);
}

export function regionProblem(region: string): string | undefined {
  return REGION.test(region) ? undefined : `--s3-region must be an S3 region such as us-east-1, got "${region}"`;
}

export function isS3UriStyle(s: string): s is S3UriStyle {
  return s === 'path' || s === 'host';
}

/** As users name it: `s3://bucket/path`, the repository host's stanza, or the volume. */
export function describeRepository(l: RepositoryLocation, volume: string, stanza: string): string {
  if (l.type === 's3') return `s3://${l.bucket}${l.path} (https://${l.endpoint}:${l.port}, ${l.region})`;
  if (l.type === 'host') return `${REPOSITORY_HOST_DESCRIPTION} ${l.host}, stanza ${stanza}`;
  return `volume ${volume}`;
}

const REPOSITORY_HOST_DESCRIPTION = 'repository host';
/** The description (StanzaSummary.repository) names the repository host: backups run there, not in the leader. */
export const describesRepositoryHost = (description: string | undefined): boolean => description?.startsWith(`${REPOSITORY_HOST_DESCRIPTION} `) ?? false;

/** A repository kept apart from any volume of the cluster, as the list of what a cluster keeps names it. */
export function keptRepositoryName(l: S3Location | HostLocation, stanza: string): string {
  return l.type === 's3' ? `s3://${l.bucket}${l.path}` : `${l.host}:${stanza}`;
}
