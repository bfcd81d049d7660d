/**
 * The dashboard's charts: one fixed PromQL query per chart, for one cluster. Fixed so the
 * dashboard's API never runs a query a page sends. Metric names: docs/design/observability.md.
 */
export const CHART_IDS = ['tps', 'lag', 'connections', 'wal', 'backups'] as const;
export type ChartId = (typeof CHART_IDS)[number];

export interface ChartSpec {
  title: string;
  /** What the values count, for the axis. */
  unit: 'tx/s' | 'bytes' | 'connections' | 'bytes/s';
  /** The query; every series is labelled by `legend`. */
  query: (cluster: string) => string;
  legend: 'member' | 'type';
}

/** A label value inside double quotes in PromQL (cluster names are [a-z0-9-], but never trust a caller). */
export const promString = (s: string): string => JSON.stringify(s);

const sel = (cluster: string, extra = ''): string => `{cluster=${promString(cluster)}${extra}}`;

export const CHARTS: Record<ChartId, ChartSpec> = {
  tps: {
    title: 'Transactions per second',
    unit: 'tx/s',
    query: (c) => `sum by (member) (rate(pg_stat_database_xact_commit${sel(c)}[1m]) + rate(pg_stat_database_xact_rollback${sel(c)}[1m]))`,
    legend: 'member',
  },
  lag: {
    title: 'Replica lag',
    unit: 'bytes',
    // Patroni: the leader reports where WAL ends, each replica what it replayed. Both report 0
    // for the other value (api.py do_GET_metrics, 3.0.2 and 4.0.7), so `> 0` keeps the leader,
    // whose "lag" would be its whole WAL position, and stopped members off the chart.
    query: (c) => `clamp_min(scalar(max(patroni_xlog_location${sel(c)})) - max by (member) (patroni_xlog_replayed_location${sel(c)} > 0), 0)`,
    legend: 'member',
  },
  connections: {
    title: 'Connections',
    unit: 'connections',
    query: (c) => `sum by (member) (pg_stat_database_numbackends${sel(c)})`,
    legend: 'member',
  },
  wal: {
    title: 'WAL written',
    unit: 'bytes/s',
    query: (c) => `max by (member) (rate(patroni_xlog_location${sel(c)}[1m]))`,
    legend: 'member',
  },
  backups: {
    title: 'Newest backup size',
    unit: 'bytes',
    query: (c) => `max by (type) (dbaas_backup_last_size_bytes${sel(c)})`,
    legend: 'type',
  },
};

export function isChartId(s: string): s is ChartId {
  return (CHART_IDS as readonly string[]).includes(s);
}

/** Prometheus's range result. */
export interface PromMatrix {
  resultType: 'matrix';
  result: { metric: Record<string, string>; values: [number, string][] }[];
}

/** Columns for the chart: one time axis (seconds) and one column per series, null where a series has no point. */
export interface ChartData {
  id: ChartId;
  title: string;
  unit: ChartSpec['unit'];
  labels: string[];
  times: number[];
  series: (number | null)[][];
}

/** Aligns a range result on the query's step grid (Prometheus returns points on it). */
export function chartData(id: ChartId, m: PromMatrix, start: number, end: number, step: number): ChartData {
  const spec = CHARTS[id];
  const times: number[] = [];
  for (let t = start; t <= end; t += step) times.push(t);
  const index = new Map(times.map((t, i) => [t, i]));
  const rows = [...m.result].sort((a, b) => (a.metric[spec.legend] ?? '').localeCompare(b.metric[spec.legend] ?? '', 'en', { numeric: true }));
  const series = rows.map((r) => {
    const column: (number | null)[] = times.map(() => null);
    for (const [t, v] of r.values) {
      const i = index.get(t);
      const n = Number(v);
      if (i !== undefined && Number.isFinite(n)) column[i] = n;
    }
    return column;
  });
  // A cluster younger than the range would be a flat line squeezed against the right edge: the
  // chart starts at its first point instead.
  const first = times.findIndex((_t, i) => series.some((s) => s[i] !== null));
  const from = first > 0 ? first : 0;
  return { id, title: spec.title, unit: spec.unit, labels: rows.map((r) => r.metric[spec.legend] ?? '(all)'), times: times.slice(from), series: series.map((s) => s.slice(from)) };
}
