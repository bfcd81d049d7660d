/** Connections from the CLI to Temporal and Docker, failing with where it looked and how to fix it. */
import Docker from 'dockerode';
import type { Inventory } from '../activities/hosts/inventory';
import { machineInventory } from '../activities/hosts/registry';
import { resolvePaths } from '../common/paths';
import type { Client, Connection } from '@temporalio/client';
import { temporalConfig } from '../common/temporal-config';
import { OperationError } from './errors';

export async function connectTemporal(): Promise<{ client: Client; connection: Connection }> {
  const cfg = temporalConfig();
  // Loaded here, not at the top: commands that only read Docker (`connect`, `psql`) do without gRPC.
  const { Client, Connection } = await import('@temporalio/client');
  try {
    const connection = await Connection.connect({ address: cfg.address, tls: cfg.tls, connectTimeout: '5s' });
    return { client: new Client({ connection, namespace: cfg.namespace }), connection };
  } catch (err) {
    const how = cfg.external
      ? 'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS settings'
      : 'start it with `npx dbaas dev up`, or set TEMPORAL_ADDRESS to a running server';
    throw new OperationError(`cannot reach Temporal at ${cfg.address} (${(err as Error).message}): ${how}`);
  }
}

export function dockerAddress(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** The hosts this machine reaches, each engine answering (today: the engine DOCKER_HOST names, as host `local`). */
export async function connectInventory(): Promise<Inventory> {
  const inv = machineInventory(resolvePaths(), new Docker());
  try {
    await inv.engine().ping();
    return inv;
  } catch (err) {
    throw new OperationError(
      `cannot reach Docker at ${dockerAddress()} (${(err as Error).message}): start it with \`npx dbaas dev up\`, or set DOCKER_HOST`,
    );
  }
}
