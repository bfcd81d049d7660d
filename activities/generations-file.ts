/**
 * DBAAS_HOME/generations/NAME.json: which generation of a cluster's PostgreSQL members serves
 * (common/generations.ts). Written by a blue/green upgrade's cutover, rollback and finish; absent
 * for a cluster that never had a second generation. A file, not a label: which generation serves
 * changes, and Docker labels cannot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { DEFAULT_SERVING, FIRST_GENERATION, type GenerationsRecord } from '../common/generations';
import { insideHome } from './home-paths';

const recordFile = (paths: Paths, cluster: string): string => insideHome(paths, 'generations', `${cluster}.json`);

/** The serving generation (1 when no record exists or it cannot be read as one). */
export function servingGeneration(paths: Paths, cluster: string): number {
  try {
    const serving = (JSON.parse(fs.readFileSync(recordFile(paths, cluster), 'utf8')) as Partial<GenerationsRecord>).serving;
    return Number.isInteger(serving) && serving! >= FIRST_GENERATION ? serving! : DEFAULT_SERVING.serving;
  } catch {
    // No record (the usual case), or a name no cluster can have: no record can exist for it.
    return DEFAULT_SERVING.serving;
  }
}

/** Record which generation serves; back to no record when it is the first again. Atomic (rename). */
export function writeServingGeneration(paths: Paths, cluster: string, serving: number): void {
  const file = recordFile(paths, cluster);
  if (serving === FIRST_GENERATION) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const record: GenerationsRecord = { serving };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
  fs.renameSync(`${file}.tmp`, file);
}
