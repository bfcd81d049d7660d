/**
 * A cluster's scrape targets for Prometheus: `<home>/prometheus/targets/<cluster>.json`, which
 * Prometheus re-reads by itself (file-based discovery), so a new replica is scraped without a
 * restart. The cluster watch publishes it when the members or their addresses change;
 * DeleteCluster removes it. Addresses are the ones the worker uses (Host.endpoint), so members
 * on other hosts are scraped the same way.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { hostPort, type Member } from '../common/inventory';
import { HAPROXY_STATS_PORT, PATRONI_API_PORT } from '../common/service-ports';
import { insideDir } from './home-paths';
import {
  scrapeTargetGroups, scrapeTargetsFileName, type ScrapeComponent, type ScrapeEndpoint, type ScrapeTargetGroup,
} from './scrape-target-groups';

/**
 * The exporters' endpoints (the cluster's `metrics` container: a postgres_exporter per member,
 * the pgbouncer exporter per pooler), given the cluster's members; none by default.
 */
export type ExporterEndpoints = (cluster: string, members: Member[]) => Promise<ScrapeEndpoint[]>;

export interface PublishedTargets {
  /** Target groups in the file. */
  targets: number;
  /** The file was written (false: it already said the same). */
  changed: boolean;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The groups of a previous file; none when it is missing or not ours to read (rewritten whole anyway). */
function readGroups(file: string): ScrapeTargetGroup[] {
  try {
    const parsed: unknown = JSON.parse(readText(file) ?? '[]');
    return Array.isArray(parsed) ? (parsed as ScrapeTargetGroup[]) : [];
  } catch {
    return [];
  }
}

/** Prometheus never sees half a file: written beside it (a name it does not read) and renamed over it. */
function replaceFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

export function createScrapeTargetActivities(inv: Inventory, paths: Paths, exporterEndpoints: ExporterEndpoints = async () => []) {
  const endpointOf = (m: Member, component: ScrapeComponent, port: number): ScrapeEndpoint => {
    const e = inv.endpoint(m, port);
    return { component, member: m.name, host: m.host, address: e && hostPort(e) };
  };
  const targetsFile = (cluster: string): string => insideDir(paths.scrapeTargets, scrapeTargetsFileName(cluster));

  return {
    /**
     * Write the cluster's target file from the inventory now: Patroni of every Postgres member of
     * the serving generation, HAProxy on every host, the exporters. A stopped member keeps its
     * target (down); members on a host that does not answer keep the targets the file had.
     * Idempotent: an unchanged file is not rewritten.
     */
    async publishScrapeTargets(cluster: string): Promise<PublishedTargets> {
      const file = targetsFile(cluster);
      const { members, unreachable } = await inv.membersAndUnreachable(cluster);
      const endpoints: ScrapeEndpoint[] = [
        ...members.filter((m) => m.kind === 'postgres').map((m) => endpointOf(m, 'patroni', PATRONI_API_PORT)),
        ...members.filter((m) => m.kind === 'haproxy').map((m) => endpointOf(m, 'haproxy', HAPROXY_STATS_PORT)),
        ...(await exporterEndpoints(cluster, members)),
      ];
      const kept = unreachable.length > 0 ? readGroups(file).filter((g) => unreachable.includes(g.labels?.host)) : [];
      const groups = [...scrapeTargetGroups(cluster, endpoints), ...kept];
      const content = `${JSON.stringify(groups, null, 2)}\n`;
      const changed = readText(file) !== content;
      if (changed) replaceFile(file, content);
      return { targets: groups.length, changed };
    },

    /** Remove the cluster's target file: Prometheus drops its targets (and their alerts). Idempotent. */
    async removeScrapeTargets(cluster: string): Promise<void> {
      fs.rmSync(targetsFile(cluster), { force: true });
    },
  };
}
