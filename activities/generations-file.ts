/**
 * DBAAS_HOME/generations/NAME.json: which generation of a cluster's PostgreSQL members serves
 * (common/generations.ts). Written by a blue/green upgrade's cutover, rollback and finish; absent
 * for a cluster that never had a second generation. A file, not a label: which generation serves
 * changes, and Docker labels cannot. It also keeps the generation of data volumes made before
 * volumes were labelled, for as long as such volumes are kept (written by a delete that keeps them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { DEFAULT_SERVING, FIRST_GENERATION, type GenerationsRecord } from '../common/generations';
import { insideHome } from './home-paths';

const recordFile = (paths: Paths, cluster: string): string => insideHome(paths, 'generations', `${cluster}.json`);

function readRecord(paths: Paths, cluster: string): Partial<GenerationsRecord> {
  try {
    return JSON.parse(fs.readFileSync(recordFile(paths, cluster), 'utf8')) as Partial<GenerationsRecord>;
  } catch {
    // No record (the usual case), or a name no cluster can have: no record can exist for it.
    return {};
  }
}

/** The serving generation (1 when no record exists or it cannot be read as one). */
export function servingGeneration(paths: Paths, cluster: string): number {
  const serving = readRecord(paths, cluster).serving;
  return Number.isInteger(serving) && serving! >= FIRST_GENERATION ? serving! : DEFAULT_SERVING.serving;
}

/** What the record says of unlabelled data volumes' generations (member → generation); empty without one. */
export function recordedVolumeGenerations(paths: Paths, cluster: string): Record<string, number> {
  const recorded = readRecord(paths, cluster).volumeGenerations ?? {};
  return Object.fromEntries(Object.entries(recorded).filter(([, g]) => Number.isInteger(g) && g > FIRST_GENERATION));
}

/** The record as given; no file when it says nothing but "the first generation serves". Atomic (rename). */
function writeRecord(paths: Paths, cluster: string, record: GenerationsRecord): void {
  const file = recordFile(paths, cluster);
  const volumes = record.volumeGenerations ?? {};
  if (record.serving === FIRST_GENERATION && Object.keys(volumes).length === 0) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const written: GenerationsRecord = { serving: record.serving, ...(Object.keys(volumes).length > 0 ? { volumeGenerations: volumes } : {}) };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(written));
  fs.renameSync(`${file}.tmp`, file);
}

/** Record which generation serves; back to no record when it is the first again (and no volume's generation is kept in it). */
export function writeServingGeneration(paths: Paths, cluster: string, serving: number): void {
  writeRecord(paths, cluster, { serving, volumeGenerations: recordedVolumeGenerations(paths, cluster) });
}

/** Replace what the record says of unlabelled data volumes (the serving generation stays). Idempotent. */
export function writeVolumeGenerations(paths: Paths, cluster: string, volumes: Record<string, number>): void {
  writeRecord(paths, cluster, { serving: servingGeneration(paths, cluster), volumeGenerations: volumes });
}

/** The cluster and all its data are gone: a new cluster of the name starts at the first generation. */
export function forgetGenerations(paths: Paths, cluster: string): void {
  fs.rmSync(recordFile(paths, cluster), { force: true });
}
