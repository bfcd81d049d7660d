/**
 * The `db` and `user` commands' two ways to a cluster: SQL as the superuser through its rw port,
 * for the lists and for refusing before a workflow starts (the workflows read the same through
 * the same functions), and the workflow that changes it, under its lease.
 */
import type { Client } from 'pg';
import type { Workflow } from '@temporalio/common';
import type { Inventory } from '../activities/hosts/inventory';
import { withClient } from '../activities/sql';
import { resolvePaths } from '../common/paths';
import { clusterPorts, requireLiveCluster } from './cluster-info';
import { connectInventory, connectTemporal } from './connections';
import { OperationError, UsageError } from './errors';
import { follow, startOrAttach, type StartMessages } from './workflow-run';

export async function liveClusterInventory(cluster: string): Promise<Inventory> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  return inv;
}

/** `fn` on a connection to the live cluster's leader, through rw. */
export async function withClusterSql<T>(inv: Inventory, cluster: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const paths = resolvePaths();
  const ports = await clusterPorts(inv, paths, cluster);
  if (!ports) throw new OperationError(`cluster ${cluster} has no endpoints yet (is it still being created?)`);
  try {
    return await withClient(paths, cluster, await inv.frontDoorAt(cluster, ports.rw), fn);
  } catch (err) {
    throw new OperationError(`cannot read cluster ${cluster} through rw: ${(err as Error).message}`);
  }
}

export interface Operation<W extends Workflow> {
  cluster: string;
  workflowType: string;
  workflowId: string;
  args: Parameters<W>;
  messages: StartMessages;
  /** What failed, for the error line: `db create orders sales`. */
  what: string;
  /**
   * Runs only when no run of this id goes on, before it starts: what the catalogs say through rw
   * (the workflow reads and decides the same: it is the authority), a line to refuse with (exit 2).
   */
  refusal(c: Client): Promise<string | undefined>;
  /** Then, for a drop: the user types the name (or gave --yes). */
  confirm?(): Promise<void>;
}

/** Start (or attach to) the operation's workflow on a live cluster and follow its steps to its result. */
export async function runClusterOperation<W extends Workflow, R>(op: Operation<W>): Promise<R> {
  const inv = await liveClusterInventory(op.cluster);
  const { client, connection } = await connectTemporal();
  try {
    const handle = await startOrAttach<W>(client, op.workflowType, op.workflowId, op.cluster, op.args, op.messages, async () => {
      const refusal = await withClusterSql(inv, op.cluster, op.refusal);
      if (refusal) throw new UsageError(refusal);
      await op.confirm?.();
    });
    return await follow<R>(handle, op.what);
  } finally {
    await connection.close();
  }
}
