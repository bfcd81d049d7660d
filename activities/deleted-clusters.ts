/**
 * When each deleted cluster that kept something (its backups, or its data) was deleted, for
 * `cluster list --deleted`, and the PostgreSQL major its kept data is in, for a create on it. One
 * small file per cluster in DBAAS_HOME; Docker volumes cannot be relabelled (an in-place upgrade
 * changes the major of the data in them), so neither can live on the kept volume itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { insideHome } from './home-paths';
import { isPostgresVersion, type PostgresVersion } from '../common/postgres-version';

interface DeletedClusterRecord {
  deletedAt?: string;
  /** Absent in records written before dbaas kept it, or when no member was left to read it from. */
  postgresVersion?: PostgresVersion;
}

function recordFile(paths: Paths, cluster: string): string {
  return insideHome(paths, 'deleted-clusters', `${cluster}.json`);
}

/** The ISO time the cluster was deleted, or undefined (never deleted, or deleted before dbaas kept the record). */
export function deletedAt(paths: Paths, cluster: string): string | undefined {
  return readRecord(paths, cluster).deletedAt;
}

/** The PostgreSQL major of the data a delete kept, or undefined when the record does not say. */
export function keptDataVersion(paths: Paths, cluster: string): PostgresVersion | undefined {
  const v = readRecord(paths, cluster).postgresVersion;
  return isPostgresVersion(v) ? v : undefined;
}

function readRecord(paths: Paths, cluster: string): DeletedClusterRecord {
  try {
    return JSON.parse(fs.readFileSync(recordFile(paths, cluster), 'utf8')) as DeletedClusterRecord;
  } catch {
    return {};
  }
}

export function createDeletedClusterActivities(paths: Paths) {
  return {
    /**
     * Keeps the time of the delete when the cluster keeps anything, and the major of its data;
     * forgets them when nothing is left. Idempotent: both come from the workflow, so a retry
     * writes the same. A version not known now (a purge after the members went) keeps the one
     * recorded before.
     */
    async recordClusterDeleted(i: { cluster: string; keeps: boolean; keepsData?: boolean; at: string; postgresVersion?: PostgresVersion | null }): Promise<void> {
      const file = recordFile(paths, i.cluster);
      if (!i.keeps) {
        fs.rmSync(file, { force: true });
        return;
      }
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // Kept data keeps its major; a record of kept backups alone has none to keep.
      const postgresVersion = i.keepsData === false ? undefined : i.postgresVersion ?? keptDataVersion(paths, i.cluster);
      const record: DeletedClusterRecord = { deletedAt: i.at, ...(postgresVersion !== undefined ? { postgresVersion } : {}) };
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
      fs.renameSync(`${file}.tmp`, file);
    },
  };
}
