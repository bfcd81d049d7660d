/**
 * Per-cluster backup settings, kept in DBAAS_HOME: the retention every backup of the cluster
 * applies, and where its repository is (a volume, or an S3 bucket). Kept with the repository
 * after a delete: a deleted cluster's S3 backups are found through them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { insideHome } from './home-paths';
import { DEFAULT_RETENTION, type Retention } from '../common/render/pgbackrest';
import { VOLUME_REPOSITORY, type HostLocation, type RepositoryLocation, type S3Location } from '../common/repository';

interface SettingsFile extends Partial<Retention> {
  /** Unset for a volume repository (and every cluster from before S3 repositories). */
  repository?: S3Location | HostLocation;
}

const SETTINGS_DIR = 'backup-settings';

function settingsFile(paths: Paths, cluster: string): string {
  return insideHome(paths, SETTINGS_DIR, `${cluster}.json`);
}

function readSettings(paths: Paths, cluster: string): SettingsFile {
  // Outside the try: a refused name must fail the step, not read as "no settings".
  const file = settingsFile(paths, cluster);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SettingsFile;
  } catch {
    return {};
  }
}

function writeSettings(paths: Paths, cluster: string, s: SettingsFile): void {
  const file = settingsFile(paths, cluster);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(s));
  fs.renameSync(`${file}.tmp`, file);
}

export function readRetention(paths: Paths, cluster: string): Retention {
  const { repository: _, ...retention } = readSettings(paths, cluster);
  return { ...DEFAULT_RETENTION, ...retention };
}

export function writeRetention(paths: Paths, cluster: string, change: Partial<Retention>): Retention {
  const s = { ...readSettings(paths, cluster), ...change };
  writeSettings(paths, cluster, s);
  return readRetention(paths, cluster);
}

export function readRepositoryLocation(paths: Paths, cluster: string): RepositoryLocation {
  return readSettings(paths, cluster).repository ?? VOLUME_REPOSITORY;
}

export function writeRepositoryLocation(paths: Paths, cluster: string, location: S3Location | HostLocation): void {
  writeSettings(paths, cluster, { ...readSettings(paths, cluster), repository: location });
}

/** Clusters (live or deleted) whose repository is in S3 or on the repository host, with where: their settings are the only trace a deleted one leaves. */
export function settingsRepositories(paths: Paths): { cluster: string; location: S3Location | HostLocation }[] {
  let files: string[];
  try {
    files = fs.readdirSync(insideHome(paths, SETTINGS_DIR));
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .flatMap((cluster) => {
      const location = readSettings(paths, cluster).repository;
      return location ? [{ cluster, location }] : [];
    });
}

export function deleteBackupSettingsFile(paths: Paths, cluster: string): void {
  fs.rmSync(settingsFile(paths, cluster), { force: true });
}
