import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHARTS, chartData, promString } from '../../client/dashboard/chart-queries';
import { dashboardServer, type DashboardDeps } from '../../client/dashboard/server';
import { operationsUrl } from '../../client/dashboard/api';

test('chart series are aligned on the step grid, one column per member, null where a member has no point', () => {
  const d = chartData('tps', {
    resultType: 'matrix',
    result: [
      { metric: { member: 'pg-10' }, values: [[100, '1'], [130, '3']] },
      { metric: { member: 'pg-2' }, values: [[115, '2.5'], [130, 'NaN']] },
    ],
  }, 100, 130, 15);
  assert.deepEqual(d.times, [100, 115, 130]);
  assert.deepEqual(d.labels, ['pg-2', 'pg-10']);
  assert.deepEqual(d.series, [[null, 2.5, null], [1, null, 3]]);
});

test('a chart starts at its first point: a cluster younger than the range is not squeezed against the right edge', () => {
  const d = chartData('tps', { resultType: 'matrix', result: [{ metric: { member: 'pg-0' }, values: [[130, '1'], [145, '2']] }] }, 100, 145, 15);
  assert.deepEqual(d.times, [130, 145]);
  assert.deepEqual(d.series, [[1, 2]]);
  assert.deepEqual(chartData('tps', { resultType: 'matrix', result: [] }, 100, 130, 15).times, [100, 115, 130], 'no point at all: the whole range');
});

test("chart queries quote the cluster as a PromQL string and name only the cluster's series", () => {
  assert.equal(promString('a"b'), '"a\\"b"');
  for (const spec of Object.values(CHARTS)) assert.match(spec.query('orders'), /\{cluster="orders"\}/);
});

test('the Temporal Web UI link lists the cluster\'s workflows', () => {
  assert.equal(operationsUrl({ address: '', namespace: 'default', external: false, ui: 'http://127.0.0.1:8233' }, 'orders'),
    'http://127.0.0.1:8233/namespaces/default/workflows?query=ClusterName%3D%22orders%22');
  assert.equal(operationsUrl({ address: '', namespace: 'default', external: true, ui: '' }, 'orders'), null);
});

test('the dashboard answers only loopback names, only GET, and no API it does not have', async () => {
  const deps = { prometheus: 'http://127.0.0.1:1' } as unknown as DashboardDeps;
  const server = dashboardServer(deps).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const get = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${port}${path}`, init);
  try {
    // fetch sets Host itself: a raw request names another host, as a DNS-rebound page would.
    const foreign = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/api/clusters', headers: { host: 'evil.example' } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
    });
    assert.equal(foreign, 421);
    assert.equal((await get('/api/clusters', { method: 'POST' })).status, 405);
    assert.equal((await get('/api/clusters/orders/charts/nosuch')).status, 404);
    assert.equal((await get('/api/clusters/..%2Fetc/charts/tps')).status, 404);
    assert.equal((await get('/etc/passwd')).status, 404);
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>dbaas dashboard<\/title>/);
    assert.equal((await get('/vendor/uplot.js')).status, 200);
  } finally {
    server.close();
  }
});
