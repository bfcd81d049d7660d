/**
 * `cluster status`'s read of the operation running on a cluster, in a worker thread: Temporal's
 * client (gRPC, protobufs: ~0.2 s of loading) loads on another core while the main thread reads
 * Docker and Patroni. Posts the LeaseView, or null when Temporal or its worker does not answer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectTemporal } from './connections';
import { readLease } from './lease';
import type { LeaseView } from '../common/lease';

async function operations(cluster: string): Promise<LeaseView | null> {
  let conn: Awaited<ReturnType<typeof connectTemporal>> | undefined;
  try {
    conn = await connectTemporal();
    return await readLease(conn.client.workflow, cluster);
  } catch {
    return null;
  } finally {
    await conn?.connection.close();
  }
}

void operations((workerData as { cluster: string }).cluster).then((lease) => parentPort?.postMessage(lease));
