/**
 * Where Prometheus reaches the exporters of a cluster's members: the `metrics` container on the
 * member's own host (else any of the cluster's), `GET /probe?target=<member>` (docker/metrics:
 * postgres_exporter 0.11.1 has no multi-target mode of its own, so the container's probe serves
 * one exporter per member, and the PgBouncer exporter per pooler, behind one port).
 */
import { hostPort, type Member } from '../common/inventory';
import { METRICS_PORT } from '../common/render/metrics';
import type { Inventory } from './hosts/inventory';
import type { ExporterEndpoints } from './scrape-targets';
import type { ScrapeEndpoint } from './scrape-target-groups';

export function metricsExporterEndpoints(inv: Inventory): ExporterEndpoints {
  return async (_cluster: string, members: Member[]): Promise<ScrapeEndpoint[]> => {
    const probes = members.filter((m) => m.kind === 'metrics' && m.state === 'running');
    const probeFor = (m: Member): Member | undefined => probes.find((p) => p.host === m.host) ?? probes[0];
    return members.filter((m) => m.kind === 'postgres' || m.kind === 'pgbouncer').map((m) => {
      const via = m.state === 'running' ? probeFor(m) : undefined;
      const at = via ? inv.endpoint(via, METRICS_PORT) : undefined;
      return { component: m.kind === 'postgres' ? 'postgres' : 'pgbouncer', member: m.name, host: m.host, address: at && hostPort(at), probe: m.name };
    });
  };
}
