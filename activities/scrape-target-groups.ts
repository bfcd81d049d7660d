/**
 * What Prometheus scrapes of a cluster, as the target groups of a `file_sd_configs` file
 * (`<targets dir>/<cluster>.json`, one per cluster). Pure: the activity that writes the file and
 * the exporters' part (the `metrics` container) build their endpoints and call
 * scrapeTargetGroups, so every target carries the same labels the alert rules
 * (prometheus/rules/dbaas.yml) and the dashboard select on.
 */
import type { HostName, Member } from '../common/inventory';

/**
 * What answers at a target; also the scrape job that keeps it (client/dev/prometheus-yml.ts).
 * postgres: a postgres_exporter for one member; pgbouncer: the pgbouncer exporter of one pooler.
 */
export type ScrapeComponent = 'patroni' | 'postgres' | 'haproxy' | 'pgbouncer';

/** The components read from the target files, in job order. */
export const FILE_SD_COMPONENTS: readonly ScrapeComponent[] = ['patroni', 'postgres', 'haproxy', 'pgbouncer'];

/** One thing to scrape: a component of a member (the pooler, HAProxy, or a Postgres member). */
export interface ScrapeEndpoint {
  component: ScrapeComponent;
  /** The member it reports on (pg-0, haproxy, pgbouncer-rw): not where an exporter runs. */
  member: string;
  /** The host the member runs on. */
  host: HostName;
  /**
   * `host:port` where Prometheus opens it (the address the worker uses, Host.endpoint);
   * undefined while it does not run: the target stays, at an address that refuses at once, so
   * its `up` is 0 and the member-down alert can fire (a target that vanished would say nothing).
   */
  address: string | undefined;
  /** An exporter that serves several members behind `/probe?target=<probe>` (the metrics container). */
  probe?: string;
}

/** One group of a file_sd file, as Prometheus reads it. */
export interface ScrapeTargetGroup {
  targets: string[];
  labels: ScrapeTargetLabels;
}

export interface ScrapeTargetLabels {
  cluster: string;
  member: string;
  host: HostName;
  component: ScrapeComponent;
  /**
   * `<cluster>/<member>@<host>`: the same series before and after a restart that changed the
   * member's address (Prometheus would otherwise take the address).
   */
  instance: string;
  /** Index signature: file_sd labels are any strings. */
  [label: string]: string;
}

/** Loopback port 1: nothing listens there, so a scrape fails at once with "connection refused". */
export const NOT_RUNNING_ADDRESS = '127.0.0.1:1';

export const scrapeInstance = (cluster: string, member: string, host: HostName): string => `${cluster}/${member}@${host}`;

/** The file's name in the targets directory: Prometheus reads `*.json` there. */
export const scrapeTargetsFileName = (cluster: string): string => `${cluster}.json`;

/** One group per endpoint (each has its own labels), in a fixed order so equal inputs give equal files. */
export function scrapeTargetGroups(cluster: string, endpoints: readonly ScrapeEndpoint[]): ScrapeTargetGroup[] {
  const order = (e: ScrapeEndpoint): string => `${FILE_SD_COMPONENTS.indexOf(e.component)} ${e.host} ${e.member}`;
  return [...endpoints]
    .sort((a, b) => order(a).localeCompare(order(b), 'en', { numeric: true }))
    .map((e) => ({
      targets: [e.address ?? NOT_RUNNING_ADDRESS],
      labels: {
        cluster, member: e.member, host: e.host, component: e.component, instance: scrapeInstance(cluster, e.member, e.host),
        // Prometheus takes the path and URL parameters of a target from these labels.
        ...(e.probe !== undefined ? { __metrics_path__: '/probe', __param_target: e.probe } : {}),
      },
    }));
}

/**
 * The exporters' endpoints of a cluster's members: each Postgres member through the metrics
 * container of its own host, else any that runs (it reaches every member by its unique name); each
 * pooler only through the one of its own front door, which probes that host's pooler (on an
 * overlay across hosts every pooler has the same container name): with none running there, its
 * target is down rather than another front door's pooler under this one's `host`.
 * `addressOf`: where Prometheus opens a metrics container.
 */
export function exporterScrapeEndpoints(members: readonly Member[], addressOf: (metrics: Member) => string | undefined): ScrapeEndpoint[] {
  const probes = members.filter((m) => m.kind === 'metrics' && m.state === 'running');
  const probeFor = (m: Member): Member | undefined =>
    probes.find((p) => p.host === m.host) ?? (m.kind === 'postgres' ? probes[0] : undefined);
  return members.filter((m) => m.kind === 'postgres' || m.kind === 'pgbouncer').map((m) => {
    const via = m.state === 'running' ? probeFor(m) : undefined;
    return { component: m.kind === 'postgres' ? 'postgres' : 'pgbouncer', member: m.name, host: m.host, address: via && addressOf(via), probe: m.name };
  });
}
