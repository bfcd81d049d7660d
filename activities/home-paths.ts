/**
 * Paths in DBAAS_HOME built from cluster names, backup labels and member names. The worker runs
 * as root and a workflow can be started straight through Temporal, past the CLI's name checks:
 * a name like `../../x` must never make it read, write or `rm -rf` outside its directory.
 */
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { ErrorTypes, finalError } from './errors';

/** One path component: not empty, not `.` or `..`, no separator, no NUL. */
function isPlainComponent(part: string): boolean {
  return part !== '' && part !== '.' && part !== '..' && !/[/\\\0]/.test(part);
}

/**
 * `dir/part/part…`, refused (final, not retried) unless every part is one plain component and
 * the result lies strictly inside dir.
 */
export function insideDir(dir: string, ...parts: string[]): string {
  const base = path.resolve(dir);
  const bad = parts.find((p) => !isPlainComponent(p));
  const full = path.resolve(base, ...parts);
  const rel = path.relative(base, full);
  if (bad !== undefined || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    const why = bad !== undefined ? `${JSON.stringify(bad)} is not a plain name (no "/", "..", "." or empty names)` : `it is not inside ${base}`;
    throw finalError(ErrorTypes.PathRefused, `refused path ${JSON.stringify(parts.join('/'))} under ${base}: ${why}`);
  }
  return full;
}

/** A path under DBAAS_HOME: `insideHome(paths, 'backup-checks', cluster, file)`. */
export function insideHome(paths: Paths, ...parts: string[]): string {
  return insideDir(paths.home, ...parts);
}
