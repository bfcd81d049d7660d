/** Connections from the CLI to Temporal and Docker, failing with where it looked and how to fix it. */
import type { Inventory, ReadInventory } from '../activities/hosts/inventory';
import { EngineApi, engineAddressFromEnv } from '../activities/hosts/engine-api';
import { machineReadInventory } from '../activities/hosts/read-only-engine';
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

const dockerUnreachable = (err: unknown): OperationError =>
  new OperationError(`cannot reach Docker at ${dockerAddress()} (${(err as Error).message}): start it with \`npx dbaas dev up\`, or set DOCKER_HOST`);

/**
 * The hosts this machine reaches, each engine answering (today: the engine DOCKER_HOST names, as
 * host `local`), for commands that make or change containers: dockerode, loaded here.
 */
export async function connectInventory(): Promise<Inventory> {
  const [{ machineInventory }, { default: Docker }] = await Promise.all([import('../activities/hosts/registry'), import('dockerode')]);
  const inv = machineInventory(resolvePaths(), new Docker());
  try {
    await inv.engine().ping();
    return inv;
  } catch (err) {
    throw dockerUnreachable(err);
  }
}

/**
 * The same hosts, for commands that only read (`connect`, `psql`, `cluster status`): plain HTTP
 * to the engines, no dockerode. An engine that only dockerode reaches (TLS, ssh) gets the full
 * inventory.
 */
export async function connectReadInventory(): Promise<ReadInventory> {
  const address = engineAddressFromEnv();
  if (!address) return connectInventory();
  const local = new EngineApi(address);
  try {
    await local.ping();
  } catch (err) {
    throw dockerUnreachable(err);
  }
  return machineReadInventory(resolvePaths(), local);
}
