/**
 * Restore drills: exact row counts of the user tables, recorded after each backup (in
 * DBAAS_HOME/backup-checks/<cluster>/<label>.json) and compared on the restored scratch cluster.
 */
import * as fs from 'node:fs';
import type { Paths } from '../common/paths';
import { APP_DATABASE } from '../common/service-users';
import type { RowCounts } from '../common/backup';
import { pgbackrestTargetTime } from '../common/restore';
import { insideHome } from './home-paths';
import { withClient } from './sql';
import type { Inventory } from './hosts/inventory';
import type { Endpoint } from '../common/inventory';
import type { Client } from 'pg';

// insideHome: the cluster and label come from workflow inputs; deleteRowCounts removes the directory recursively.
const checksDir = (paths: Paths, cluster: string): string => insideHome(paths, 'backup-checks', cluster);
const checksFile = (paths: Paths, cluster: string, label: string): string => insideHome(paths, 'backup-checks', cluster, `${label}.json`);

/** Identifier quoting for schema.table (names come from the catalog, not from users of this tool). */
const qualified = (schema: string, table: string): string => `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`;

/**
 * Counts in one REPEATABLE READ transaction per database: DEFAULT_DATABASE, and APP_DATABASE where
 * it exists (where `connect`'s role keeps its tables; those are keyed `app/schema.table`). Every
 * transaction takes its snapshot first, back to back, and the last one reads the clock, so a
 * restore to that time has exactly the commits the counts saw (up to the microseconds between them).
 */
async function countRows(paths: Paths, cluster: string, port: number | Endpoint): Promise<RowCounts> {
  return withClient(paths, cluster, port, async (main) => {
    const hasApp = (await main.query('select 1 from pg_database where datname = $1', [APP_DATABASE])).rows.length > 0;
    if (!hasApp) return countIn([{ c: main, prefix: '' }]);
    return withClient(paths, cluster, port, (app) => countIn([{ c: main, prefix: '' }, { c: app, prefix: `${APP_DATABASE}/` }]), { database: APP_DATABASE });
  });
}

async function countIn(databases: { c: Client; prefix: string }[]): Promise<RowCounts> {
  let at = '';
  for (const { c } of databases) {
    await c.query('begin isolation level repeatable read');
    at = (await c.query<{ ms: string }>('select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as ms')).rows[0].ms;
  }
  try {
    const counts: Record<string, number> = {};
    for (const { c, prefix } of databases) {
      const tables = await c.query<{ schemaname: string; relname: string }>(
        "select schemaname, relname from pg_stat_user_tables where schemaname not in ('dbaas') order by 1, 2",
      );
      for (const t of tables.rows) {
        const r = await c.query<{ n: string }>(`select count(*)::text as n from ${qualified(t.schemaname, t.relname)}`);
        counts[`${prefix}${t.schemaname}.${t.relname}`] = Number(r.rows[0].n);
      }
    }
    return { at: pgbackrestTargetTime(Number(at)), tables: counts };
  } finally {
    for (const { c } of databases) await c.query('rollback');
  }
}

export function readRowCounts(paths: Paths, cluster: string, label: string): RowCounts | undefined {
  const file = checksFile(paths, cluster, label);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RowCounts;
  } catch {
    return undefined;
  }
}

export function deleteRowCounts(paths: Paths, cluster: string): void {
  fs.rmSync(checksDir(paths, cluster), { recursive: true, force: true });
}

export function createBackupCheckActivities(inv: Inventory, paths: Paths) {
  return {
    /** Count the user tables through rw now (after the backup) and keep the counts with the backup's label. */
    /**
     * `backupStoppedAt`: pgBackRest picks a backup for a restore to time T only if its stop time,
     * in whole seconds, is below T's whole second; counts taken in the second the backup stopped
     * would name a time no restore can reach from it. So they wait for the next second.
     */
    async recordRowCounts(i: { cluster: string; label: string; rwPort: number; backupStoppedAt?: string }): Promise<{ at: string; tables: number }> {
      const stoppedSecond = i.backupStoppedAt === undefined ? NaN : Math.floor(Date.parse(i.backupStoppedAt) / 1000);
      const wait = (stoppedSecond + 1) * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Through a front door that runs: on added hosts rw is on their addresses, not on this machine's loopback.
      const counts = await countRows(paths, i.cluster, await inv.frontDoorAt(i.cluster, i.rwPort));
      fs.mkdirSync(checksDir(paths, i.cluster), { recursive: true, mode: 0o700 });
      const file = checksFile(paths, i.cluster, i.label);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(counts));
      fs.renameSync(`${file}.tmp`, file);
      return { at: counts.at, tables: Object.keys(counts.tables).length };
    },

    async recordedRowCounts(i: { cluster: string; label: string }): Promise<RowCounts | null> {
      return readRowCounts(paths, i.cluster, i.label) ?? null;
    },

    /** The same counts on another cluster (the restored scratch one). */
    async countRowsNow(i: { cluster: string; rwPort: number }): Promise<Record<string, number>> {
      return (await countRows(paths, i.cluster, await inv.frontDoorAt(i.cluster, i.rwPort))).tables;
    },
  };
}
