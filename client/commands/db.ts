/** `dbaas db create|list|drop`: databases in a cluster (workflows createDatabase, dropDatabase; the list reads through rw). */
import { listDatabases, readDatabaseFacts } from '../../activities/databases';
import { readRoleFacts } from '../../activities/roles';
import { createDatabaseRefusal, dropDatabaseRefusal, type CreateDatabaseInput, type DropDatabaseInput } from '../../common/db-objects';
import { databaseWorkflowIds } from '../../common/workflow-ids';
import type { createDatabase, CreateDatabaseResult, dropDatabase, DropDatabaseResult } from '../../workflows';
import { liveClusterInventory, runClusterOperation, withClusterSql } from '../cluster-sql';
import { confirmByName } from '../confirm';
import { table } from '../table';

export async function dbCreateCommand(cluster: string, database: string, o: { owner?: string }): Promise<void> {
  const input: CreateDatabaseInput = { cluster, database, ...(o.owner ? { owner: o.owner } : {}) };
  const r = await runClusterOperation<typeof createDatabase, CreateDatabaseResult>({
    cluster, workflowType: 'createDatabase', workflowId: databaseWorkflowIds.createDatabase(cluster, database), args: [input],
    messages: { running: `database ${database} is being created in ${cluster}`, starting: `creating database ${database} in ${cluster}` },
    what: `db create ${cluster} ${database}`,
    refusal: async (c) => createDatabaseRefusal(input, await readDatabaseFacts(c, database), o.owner ? await readRoleFacts(c, o.owner) : null),
  });
  console.log(`${cluster}: database ${r.database} created, owner ${r.owner}${r.pooled ? ' (reachable through the pooler)' : ''}`);
}

export async function dbDropCommand(cluster: string, database: string, o: { yes: boolean }): Promise<void> {
  const input: DropDatabaseInput = { cluster, database };
  const r = await runClusterOperation<typeof dropDatabase, DropDatabaseResult>({
    cluster, workflowType: 'dropDatabase', workflowId: databaseWorkflowIds.dropDatabase(cluster, database), args: [input],
    messages: { running: `database ${database} is being dropped from ${cluster}`, starting: `dropping database ${database} from ${cluster}` },
    what: `db drop ${cluster} ${database}`,
    refusal: async (c) => {
      const facts = await readDatabaseFacts(c, database);
      if (facts.sessions > 0) console.error(`database ${database} has ${facts.sessions} session(s) on the leader: the drop ends them`);
      return dropDatabaseRefusal(input, facts);
    },
    confirm: () => confirmByName('drop database', database, o.yes),
  });
  console.log(`${cluster}: database ${r.database} dropped${r.sessionsEnded > 0 ? ` (${r.sessionsEnded} session(s) ended)` : ''}`);
}

export async function dbListCommand(cluster: string, o: { json: boolean }): Promise<void> {
  const inv = await liveClusterInventory(cluster);
  const rows = await withClusterSql(inv, cluster, listDatabases);
  if (o.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const t = table(['database', 'owner', 'size', 'sessions', 'made by']);
  for (const d of rows) t.push([d.name, d.owner, `${(d.sizeBytes / 1024 / 1024).toFixed(1)} MiB`, String(d.sessions), d.service ? 'dbaas' : 'user']);
  console.log(t.toString());
}
