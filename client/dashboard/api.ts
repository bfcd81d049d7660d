/**
 * What the dashboard's page may read, and nothing more: clusters with their members, roles,
 * hosts and endpoints (the inventory and Patroni, as `cluster status` reads them), each
 * cluster's event log (its watch's `events` query), alerts and chart series from Prometheus with
 * fixed queries, links into the Temporal Web UI. No function here reads the secrets file.
 */
import type { Client } from '@temporalio/client';
import type { Inventory } from '../../activities/hosts/inventory';
import type { ClusterEvent } from '../../common/events';
import type { Paths } from '../../common/paths';
import { SEARCH_ATTRIBUTE_CLUSTER } from '../../common/search-attributes';
import type { TemporalConfig } from '../../common/temporal-config';
import { haWorkflowIds } from '../../common/workflow-ids';
import { clusterNames, clusterStatus, type MemberStatus } from '../cluster-info';
import { CHARTS, chartData, type ChartData, type ChartId, type PromMatrix } from './chart-queries';

/** A member as `cluster status` sees it, its container reduced to its state. */
export type MemberView = Pick<MemberStatus, 'name' | 'host' | 'role' | 'state' | 'lag' | 'timeline'> & { container: string };

export interface ClusterView {
  name: string;
  version: number | null;
  leader: string | null;
  members: MemberView[];
  etcd: { name: string; host: string; state: string }[];
  backups: 'on' | 'off' | 'partial';
  endpoints: { rw: string; ro: string; pooledRw: string; pooledRo: string; stats: string } | null;
  /** The cluster's workflows in the Temporal Web UI (null: no UI configured). */
  operationsUrl: string | null;
}

export interface AlertView {
  name: string;
  state: string;
  cluster: string | null;
  member: string | null;
  severity: string | null;
  summary: string | null;
  activeAt: string | null;
}

/** How long the charts look back, and their resolution. */
export const CHART_RANGE_S = 30 * 60;
export const CHART_STEP_S = 15;

const at = (e: { host: string; port: number }): string => `${e.host}:${e.port}`;

export function operationsUrl(cfg: TemporalConfig, cluster: string): string | null {
  if (!cfg.ui) return null;
  const query = `${SEARCH_ATTRIBUTE_CLUSTER}="${cluster}"`;
  return `${cfg.ui}/namespaces/${encodeURIComponent(cfg.namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

export async function clustersView(inv: Inventory, paths: Paths, cfg: TemporalConfig): Promise<ClusterView[]> {
  const names = await clusterNames(inv);
  const all = await Promise.all(names.map((n) => clusterStatus(inv, paths, n)));
  return all.map((s) => ({
    name: s.name,
    version: s.version,
    leader: s.leader,
    members: s.members.map((m) => ({ name: m.name, host: m.host, role: m.role, state: m.state, lag: m.lag, timeline: m.timeline, container: m.container.state })),
    etcd: s.etcd,
    backups: s.backups,
    endpoints: s.endpoints ? {
      rw: at(s.endpoints.rw), ro: at(s.endpoints.ro), pooledRw: at(s.endpoints.pooledRw), pooledRo: at(s.endpoints.pooledRo), stats: s.endpoints.stats.url,
    } : null,
    operationsUrl: operationsUrl(cfg, s.name),
  }));
}

export async function eventsView(client: Client, cluster: string): Promise<ClusterEvent[]> {
  return client.workflow.getHandle(haWorkflowIds.clusterWatch(cluster)).query<ClusterEvent[]>('events');
}

async function prometheusGet<T>(prometheus: string, pathAndQuery: string): Promise<T> {
  const res = await fetch(`${prometheus}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus: ${body.error ?? res.statusText}`);
  return body.data;
}

export async function alertsView(prometheus: string): Promise<AlertView[]> {
  const data = await prometheusGet<{ alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string; activeAt?: string }[] }>(prometheus, '/api/v1/alerts');
  return data.alerts.map((a) => ({
    name: a.labels.alertname ?? '',
    state: a.state,
    cluster: a.labels.cluster ?? null,
    member: a.labels.member ?? null,
    severity: a.labels.severity ?? null,
    summary: a.annotations.summary ?? null,
    activeAt: a.activeAt ?? null,
  }));
}

export async function chartView(prometheus: string, cluster: string, id: ChartId, nowS: number = Math.floor(Date.now() / 1000)): Promise<ChartData> {
  const end = nowS - (nowS % CHART_STEP_S);
  const start = end - CHART_RANGE_S;
  const q = new URLSearchParams({ query: CHARTS[id].query(cluster), start: String(start), end: String(end), step: String(CHART_STEP_S) });
  return chartData(id, await prometheusGet<PromMatrix>(prometheus, `/api/v1/query_range?${q.toString()}`), start, end, CHART_STEP_S);
}
