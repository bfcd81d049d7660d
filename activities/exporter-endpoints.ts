/**
 * Where Prometheus reaches the exporters of a cluster's members: the `metrics` container on the
 * member's own host (a Postgres member: else any of the cluster's; a pooler: only its own front
 * door's), `GET /probe?target=<member>` (docker/metrics:
 * postgres_exporter 0.11.1 has no multi-target mode of its own, so the container's probe serves
 * one exporter per member, and the PgBouncer exporter per pooler, behind one port).
 */
import { hostPort } from '../common/inventory';
import { METRICS_PORT } from '../common/render/metrics';
import type { Inventory } from './hosts/inventory';
import type { ExporterEndpoints } from './scrape-targets';
import { exporterScrapeEndpoints, type ScrapeEndpoint } from './scrape-target-groups';

export function metricsExporterEndpoints(inv: Inventory): ExporterEndpoints {
  return async (_cluster, members): Promise<ScrapeEndpoint[]> =>
    exporterScrapeEndpoints(members, (via) => {
      const at = inv.endpoint(via, METRICS_PORT);
      return at && hostPort(at);
    });
}
