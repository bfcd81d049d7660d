/**
 * The worker's facts endpoint (GET /metrics, 127.0.0.1:9465 by default, DBAAS_FACTS_ADDRESS):
 * per cluster the newest backups, the backup schedules' intervals, the data volumes' use and the
 * version (common/facts.ts names them). Read on scrape through the inventory and the helpers the
 * activities use, and kept FACTS_CACHE_MS: Prometheus scrapes far more often than they change.
 */
import * as http from 'node:http';
import type { Client } from '@temporalio/client';
import type { Inventory } from '../activities/hosts/inventory';
import { backupStatus } from '../activities/pgbackrest';
import { listBackupSchedules } from '../activities/schedules';
import { dataVolumeUse } from '../activities/volume-use';
import { backupFacts, renderFacts, scheduleIntervals, type ClusterFacts } from '../common/facts';
import { backupsState } from '../common/inventory';
import type { ListenAddress } from '../common/listen-address';
import type { Paths } from '../common/paths';
import { versionOf } from '../common/postgres-version';

export const FACTS_CACHE_MS = 60_000;

export interface FactsDeps {
  inventory: Inventory;
  paths: Paths;
  /** For the backup schedules (Temporal Schedules). */
  client: Client;
}

/** Every live cluster's facts; a part that cannot be read now (no member answers) is left out. */
export async function readFacts(d: FactsDeps): Promise<ClusterFacts[]> {
  const { members } = await d.inventory.containers();
  const clusters = [...new Set(members.filter((m) => m.kind === 'postgres').map((m) => m.cluster))].sort();
  return Promise.all(clusters.map((c) => clusterFacts(d, c)));
}

async function clusterFacts(d: FactsDeps, cluster: string): Promise<ClusterFacts> {
  const pg = await d.inventory.members(cluster, { kind: 'postgres' });
  const [backups, schedules, volumes] = await Promise.all([
    backupsState(pg) === 'off' ? undefined : backupStatus(d.inventory, d.paths, cluster).catch(() => undefined),
    listBackupSchedules(d.client, cluster).catch(() => []),
    Promise.all(pg.map(async (m) => {
      const u = await dataVolumeUse(d.inventory, m).catch(() => null);
      return u ? [{ member: m.name, ...u }] : [];
    })),
  ]);
  return {
    cluster,
    version: versionOf(pg.find((m) => m.createdWith)?.createdWith ?? {}),
    ...backupFacts(backups),
    scheduleIntervals: scheduleIntervals(schedules),
    volumes: volumes.flat(),
  };
}

/** The text, read at most once per FACTS_CACHE_MS (concurrent scrapes share one read; a failed read is not kept). */
export function cachedFacts(read: () => Promise<string>, now: () => number = Date.now): () => Promise<string> {
  let cached: { at: number; text: Promise<string> } | undefined;
  return () => {
    if (!cached || now() - cached.at >= FACTS_CACHE_MS) {
      const text = read();
      const entry = { at: now(), text };
      cached = entry;
      text.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.text;
  };
}

/** Serve GET /metrics from `facts` until the process ends. */
export function serveFacts(at: ListenAddress, facts: () => Promise<string>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    facts().then(
      (text) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
      (err: unknown) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`facts unreadable: ${(err as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      // Scrapes must not keep the worker's process alive at shutdown.
      server.unref();
      resolve(server);
    });
  });
}

/** The facts of `d`, cached, served at `at`. */
export const startFactsServer = (at: ListenAddress, d: FactsDeps): Promise<http.Server> =>
  serveFacts(at, cachedFacts(async () => renderFacts(await readFacts(d))));
