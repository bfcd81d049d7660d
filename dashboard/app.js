// @ts-check
// The dashboard page: reads the server's read-only API every 15 s and draws with uPlot.
// Every value from the API goes in as text (textContent), never as markup.
'use strict';

/* global uPlot */
const REFRESH_MS = 15_000;
const CHARTS = ['tps', 'lag', 'connections', 'wal', 'backups'];
/** @type {string | null} */
let selected = new URLSearchParams(location.search).get('cluster');
/** @type {Map<string, any>} */
const plots = new Map();

/** @param {string} path */
async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** @param {string[]} head @param {(string | Node)[][]} rows */
function table(head, rows) {
  return el('table', {}, [
    el('thead', {}, [el('tr', {}, head.map((h) => el('th', {}, [h])))]),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, [c]))))),
  ]);
}

/** @param {number} n @param {string} unit */
function formatValue(n, unit) {
  if (n == null) return '';
  if (unit === 'bytes' || unit === 'bytes/s') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = Math.abs(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${(Math.sign(n) * v).toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}${unit === 'bytes/s' ? '/s' : ''}`;
  }
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** @param {any[]} alerts */
function renderAlerts(alerts) {
  const box = /** @type {HTMLElement} */ (document.getElementById('alerts'));
  const shown = alerts.filter((a) => a.state === 'firing' || a.state === 'pending');
  box.replaceChildren(...(shown.length === 0
    ? [el('p', { class: 'none' }, ['no alert firing'])]
    : shown.map((a) => el('div', { class: `alert ${a.state}`, 'data-alert': a.name }, [
      `${a.state === 'firing' ? 'FIRING' : 'pending'}: ${a.name}`,
      a.cluster ? ` — ${a.cluster}${a.member ? `/${a.member}` : ''}` : '',
      a.summary ? ` — ${a.summary}` : '',
    ]))));
}

/** @param {any} c */
function clusterCard(c) {
  const title = el('a', { href: `?cluster=${encodeURIComponent(c.name)}`, 'data-cluster-link': c.name }, [c.name]);
  title.addEventListener('click', (e) => { e.preventDefault(); select(c.name); });
  const ep = c.endpoints;
  const rows = c.members.map((/** @type {any} */ m) => [
    m.name,
    el('span', { class: `role-${m.role}` }, [m.role]),
    el('span', { class: m.state === 'running' || m.state === 'streaming' ? '' : 'state-bad' }, [m.state]),
    m.host,
    m.lag == null ? '' : String(m.lag),
    m.timeline == null ? '' : String(m.timeline),
  ]);
  return el('div', { class: 'cluster', 'data-cluster': c.name }, [
    el('h3', {}, [title, `  PostgreSQL ${c.version ?? '?'}`]),
    el('p', { class: 'meta' }, [
      `leader ${c.leader ?? 'none'} · backups ${c.backups}`,
      ep ? ` · rw ${ep.rw} · ro ${ep.ro} · pooled rw ${ep.pooledRw} · pooled ro ${ep.pooledRo}` : '',
    ]),
    table(['member', 'role', 'state', 'host', 'lag (bytes)', 'timeline'], rows),
    el('p', { class: 'meta' }, [`etcd: ${c.etcd.map((/** @type {any} */ e) => `${e.name} ${e.state}`).join(', ') || 'none'}`]),
  ]);
}

/** @param {any[]} clusters */
function renderClusters(clusters) {
  const box = /** @type {HTMLElement} */ (document.getElementById('clusters'));
  box.replaceChildren(...(clusters.length === 0 ? [el('p', { class: 'none' }, ['no clusters'])] : clusters.map(clusterCard)));
}

/** @param {any} data */
function drawChart(data) {
  const box = /** @type {HTMLElement} */ (document.getElementById('charts'));
  let slot = box.querySelector(`[data-chart="${data.id}"]`);
  if (!slot) {
    slot = el('div', { class: 'chart', 'data-chart': data.id }, [el('h4', {}, [data.title])]);
    box.append(slot);
  }
  const old = plots.get(data.id);
  if (old) old.destroy();
  slot.setAttribute('data-points', String(data.series.reduce((/** @type {number} */ n, /** @type {any[]} */ s) => n + s.filter((v) => v != null).length, 0)));
  const opts = {
    width: 430,
    height: 200,
    series: [{}, ...data.labels.map((/** @type {string} */ label, /** @type {number} */ i) => ({
      label, stroke: `hsl(${(i * 137) % 360} 60% 42%)`, width: 1.5, spanGaps: false,
      value: (/** @type {any} */ _u, /** @type {number} */ v) => formatValue(v, data.unit),
    }))],
    axes: [{}, { values: (/** @type {any} */ _u, /** @type {number[]} */ ticks) => ticks.map((t) => formatValue(t, data.unit)), size: 70 }],
  };
  // @ts-ignore uPlot is the library's global (vendor/uplot.js)
  plots.set(data.id, new uPlot(opts, [data.times, ...data.series], slot));
}

/** @param {any[]} events */
function renderEvents(events) {
  const box = /** @type {HTMLElement} */ (document.getElementById('events'));
  const newest = [...events].reverse().slice(0, 50);
  box.replaceChildren(newest.length === 0 ? el('p', { class: 'none' }, ['no events yet'])
    : table(['time', 'event', 'member', 'detail'], newest.map((e) => [e.at, e.kind, e.member ?? '', e.message])));
}

/** @param {string} name */
function select(name) {
  selected = name;
  history.replaceState(null, '', `?cluster=${encodeURIComponent(name)}`);
  for (const p of plots.values()) p.destroy();
  plots.clear();
  /** @type {HTMLElement} */ (document.getElementById('charts')).replaceChildren();
  void refreshDetail();
}

/** @param {any[]} clusters */
async function refreshDetail(clusters = []) {
  const section = /** @type {HTMLElement} */ (document.getElementById('detail'));
  if (!selected) { section.hidden = true; return; }
  section.hidden = false;
  /** @type {HTMLElement} */ (document.getElementById('detail-title')).textContent = `Cluster ${selected}`;
  const links = /** @type {HTMLElement} */ (document.getElementById('detail-links'));
  const c = clusters.find((x) => x.name === selected);
  if (c && c.operationsUrl) links.replaceChildren(el('a', { href: c.operationsUrl, target: '_blank', rel: 'noopener' }, ['operations in the Temporal Web UI']));
  const name = selected;
  await Promise.all([
    ...CHARTS.map((id) => getJson(`/api/clusters/${encodeURIComponent(name)}/charts/${id}`).then(drawChart, (err) => console.warn(id, err.message))),
    getJson(`/api/clusters/${encodeURIComponent(name)}/events`).then(renderEvents, (err) => {
      /** @type {HTMLElement} */ (document.getElementById('events')).replaceChildren(el('p', { class: 'none' }, [`events unavailable: ${err.message}`]));
    }),
  ]);
}

async function refresh() {
  const [clusters, alerts] = await Promise.all([
    getJson('/api/clusters').catch((err) => { console.warn(err); return null; }),
    getJson('/api/alerts').catch(() => null),
  ]);
  if (clusters) renderClusters(clusters);
  if (alerts) renderAlerts(alerts);
  else /** @type {HTMLElement} */ (document.getElementById('alerts')).replaceChildren(el('p', { class: 'none' }, ['Prometheus does not answer']));
  if (!selected && clusters && clusters.length > 0) selected = clusters[0].name;
  await refreshDetail(clusters ?? []);
  /** @type {HTMLElement} */ (document.getElementById('updated')).textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.setAttribute('data-loaded', 'true');
}

void refresh();
setInterval(() => void refresh(), REFRESH_MS);
