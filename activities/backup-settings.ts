/** Per-cluster backup settings (retention), kept in DBAAS_HOME: they apply to every backup of the cluster. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { insideHome } from './home-paths';
import { DEFAULT_RETENTION, type Retention } from '../common/render/pgbackrest';

function settingsFile(paths: Paths, cluster: string): string {
  return insideHome(paths, 'backup-settings', `${cluster}.json`);
}

export function readRetention(paths: Paths, cluster: string): Retention {
  // Outside the try: a refused name must fail the step, not read as "no settings".
  const file = settingsFile(paths, cluster);
  try {
    return { ...DEFAULT_RETENTION, ...(JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Retention>) };
  } catch {
    return DEFAULT_RETENTION;
  }
}

export function writeRetention(paths: Paths, cluster: string, change: Partial<Retention>): Retention {
  const merged = { ...readRetention(paths, cluster), ...change };
  const file = settingsFile(paths, cluster);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(merged));
  fs.renameSync(`${file}.tmp`, file);
  return merged;
}

export function deleteRetention(paths: Paths, cluster: string): void {
  fs.rmSync(settingsFile(paths, cluster), { force: true });
}
