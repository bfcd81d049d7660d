/**
 * The image a Postgres member is made from: its major's (common/images.ts), or that image under
 * another tag where the worker's environment names one. The rebuild test builds a variant of the
 * member image (a label bump) under a tag of its own and gives its worker that tag, so it changes
 * the image its cluster runs on without moving the `:local` tag other clusters use.
 */
import { postgresImage } from '../common/images';
import type { PostgresVersion } from '../common/postgres-version';

export const POSTGRES_IMAGE_TAG_ENV = 'DBAAS_POSTGRES_IMAGE_TAG';

export function memberImage(version: PostgresVersion, env: NodeJS.ProcessEnv = process.env): string {
  const image = postgresImage(version);
  const tag = env[POSTGRES_IMAGE_TAG_ENV];
  return tag ? `${image.slice(0, image.lastIndexOf(':'))}:${tag}` : image;
}
