/**
 * The files a user hands `dbaas cluster create --backup-to s3://…`: the S3 key in the AWS
 * shared-credentials format (--s3-credentials) and the PEM of the CA the endpoint's certificate
 * chains to (--s3-ca). Written into a temp directory of their own (0700; the key file 0600).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { S3Credentials } from './s3-client';

export interface S3ClientFiles {
  dir: string;
  /** AWS shared-credentials file, one `[default]` profile, mode 0600. */
  credentials: string;
  /** PEM of the CA the server's certificate chains to. */
  ca: string;
}

/** The AWS shared-credentials format (~/.aws/credentials) with one profile. */
export function awsCredentialsText(c: S3Credentials, profile = 'default'): string {
  return [`[${profile}]`, `aws_access_key_id = ${c.accessKey}`, `aws_secret_access_key = ${c.secretKey}`, ''].join('\n');
}

export function writeS3ClientFiles(s: { credentials: S3Credentials; caCertPem: string }): S3ClientFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-s3-'));
  const files: S3ClientFiles = { dir, credentials: path.join(dir, 'credentials'), ca: path.join(dir, 's3-ca.crt') };
  fs.writeFileSync(files.credentials, awsCredentialsText(s.credentials), { mode: 0o600 });
  fs.writeFileSync(files.ca, s.caCertPem, { mode: 0o644 });
  return files;
}

export function removeS3ClientFiles(f: Pick<S3ClientFiles, 'dir'> | undefined): void {
  if (f) fs.rmSync(f.dir, { recursive: true, force: true });
}
