/** The `--backup-to` and `--s3-*` options as the command line shows them; client/s3-options.ts checks what they say. */
import type { Command } from 'commander';
import { REPOSITORY_HOST_TARGET, VOLUME_TARGET } from '../../common/repository';

/** The S3 repository options, on `cluster create` and `restore` alike. */
export function addS3Options(cmd: Command): Command {
  return cmd
    .option('--backup-to <where>', `where the backups go: the control plane's repository host (${REPOSITORY_HOST_TARGET}, the default), an S3 bucket (s3://BUCKET[/PREFIX], default prefix /dbaas), or a volume of the cluster's beside its data (${VOLUME_TARGET})`)
    .option('--s3-endpoint <url>', 'https://HOST[:PORT] of the S3 server (default: AWS for --s3-region)')
    .option('--s3-region <region>', 'the bucket\'s region (us-east-1 for most self-hosted servers)')
    .option('--s3-credentials <file>', 'AWS shared-credentials file ([default] aws_access_key_id, aws_secret_access_key); default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
    .option('--s3-ca <file>', 'PEM of a private CA the endpoint\'s certificate chains to')
    .option('--s3-uri-style <style>', 'path | host (default: path with --s3-endpoint, host for AWS)');
}
