/**
 * The dashboard's HTTP server: one page (dashboard/ at the project root), uPlot from
 * node_modules, and a read-only JSON API (./api.ts). It listens on 127.0.0.1 only and answers
 * only requests addressed to it by a loopback name, so a web page elsewhere cannot read it
 * through DNS rebinding.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Inventory } from '../../activities/hosts/inventory';
import { PROJECT_ROOT, type Paths } from '../../common/paths';
import type { TemporalConfig } from '../../common/temporal-config';
import { alertsView, chartView, clustersView, eventsView } from './api';
import { isChartId } from './chart-queries';

export interface DashboardDeps {
  inventory: Inventory;
  paths: Paths;
  temporal: TemporalConfig;
  /** A Temporal client, made on first use (the page works without Temporal, but for events). */
  temporalClient: () => Promise<Client>;
  /** Prometheus's base URL, e.g. http://127.0.0.1:9090. */
  prometheus: string;
}

const PAGE_DIR = path.join(PROJECT_ROOT, 'dashboard');
const UPLOT_DIR = path.join(PROJECT_ROOT, 'node_modules', 'uplot', 'dist');
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: path.join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: path.join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uplot.js': { file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;
const CLUSTER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The page loads only its own files and talks only to this server.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
  });
  res.end(body);
}

async function api(deps: DashboardDeps, parts: string[]): Promise<unknown> {
  const [what, cluster, sub, id] = parts;
  if (what === 'clusters' && cluster === undefined) return clustersView(deps.inventory, deps.paths, deps.temporal);
  if (what === 'alerts' && cluster === undefined) return alertsView(deps.prometheus);
  if (what === 'clusters' && cluster !== undefined && CLUSTER_NAME.test(cluster)) {
    if (sub === 'events' && id === undefined) return eventsView(await deps.temporalClient(), cluster);
    if (sub === 'charts' && id !== undefined && isChartId(id)) return chartView(deps.prometheus, cluster, id);
  }
  throw new HttpError(404, 'no such API');
}

export function dashboardServer(deps: DashboardDeps): http.Server {
  return http.createServer((req, res) => {
    void (async () => {
      try {
        if (!LOOPBACK_HOST.test(req.headers.host ?? '')) throw new HttpError(421, 'the dashboard answers requests to 127.0.0.1 or localhost only');
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'read-only');
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (url.pathname === '/favicon.ico') return send(res, 204, 'text/plain', '');
        const file = STATIC[url.pathname];
        if (file) return send(res, 200, file.type, fs.readFileSync(file.file));
        const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
        if (parts[0] !== 'api') throw new HttpError(404, 'not found');
        send(res, 200, 'application/json', JSON.stringify(await api(deps, parts.slice(1))));
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 502;
        send(res, status, 'application/json', JSON.stringify({ error: (err as Error).message }));
      }
    })();
  });
}
