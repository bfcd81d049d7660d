/**
 * When each deleted cluster that kept something (its backups, or its data) was deleted, for
 * `cluster list --deleted`. One small file per cluster in DBAAS_HOME; Docker volumes cannot be
 * relabelled, so the time cannot live on the kept volume itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../common/paths';
import { insideHome } from './home-paths';

function recordFile(paths: Paths, cluster: string): string {
  return insideHome(paths, 'deleted-clusters', `${cluster}.json`);
}

/** The ISO time the cluster was deleted, or undefined (never deleted, or deleted before dbaas kept the record). */
export function deletedAt(paths: Paths, cluster: string): string | undefined {
  const file = recordFile(paths, cluster);
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { deletedAt?: string }).deletedAt;
  } catch {
    return undefined;
  }
}

export function createDeletedClusterActivities(paths: Paths) {
  return {
    /**
     * Keeps the time of the delete when the cluster keeps anything; forgets it when nothing is
     * left. Idempotent: the time comes from the workflow, so a retry writes the same one.
     */
    async recordClusterDeleted(i: { cluster: string; keeps: boolean; at: string }): Promise<void> {
      const file = recordFile(paths, i.cluster);
      if (!i.keeps) {
        fs.rmSync(file, { force: true });
        return;
      }
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(`${file}.tmp`, JSON.stringify({ deletedAt: i.at }));
      fs.renameSync(`${file}.tmp`, file);
    },
  };
}
