/**
 * The CLI's Temporal for starting and following operations: the HTTP API when the server has one
 * (the dev server's, or TEMPORAL_HTTP_ADDRESS), else the SDK's gRPC client, loaded only then.
 */
import { temporalConfig } from '../../common/temporal-config';
import type { WorkflowGateway } from './gateway';

export async function connectGateway(): Promise<WorkflowGateway> {
  const cfg = temporalConfig();
  if (cfg.httpAddress) {
    const { httpGateway } = await import('./http-gateway');
    const gateway = httpGateway(cfg.httpAddress, cfg.namespace);
    if (await gateway.reachable()) return gateway;
    await gateway.close();
  }
  // A server without an HTTP API there (an older dev server, another address): gRPC.
  const [{ connectTemporal }, { grpcGateway }] = await Promise.all([import('../connections'), import('./grpc-gateway')]);
  const { client, connection } = await connectTemporal();
  return grpcGateway(client, () => connection.close());
}
