/** Whether a cluster's exporters run, as `cluster status` and a create's result say it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerState } from '../../common/events';
import { metricsNotRunningLine, metricsState } from '../../common/metrics-state';

const c = (kind: 'haproxy' | 'metrics' | 'postgres', host: string, state: ContainerState = 'running') => ({ kind, host, state, container: `dbaas-orders-${kind}` });

test('running when a metrics container runs beside every front door', () => {
  assert.deepEqual(metricsState([c('postgres', 'h1'), c('haproxy', 'h1'), c('metrics', 'h1'), c('haproxy', 'h2'), c('metrics', 'h2')]), { running: true, problems: [] });
});

test('not running: each front door without a running metrics container is named', () => {
  assert.deepEqual(metricsState([c('haproxy', 'local')]), { running: false, problems: ['no metrics container on local'] });
  assert.deepEqual(metricsState([c('haproxy', 'h1'), c('metrics', 'h1', 'exited'), c('haproxy', 'h2'), c('metrics', 'h2')]), {
    running: false, problems: ['dbaas-orders-metrics on h1 is exited'],
  });
  assert.equal(metricsState([c('postgres', 'local')]).running, false);
});

test('the line says why and how to add them', () => {
  assert.equal(metricsNotRunningLine('orders', 'no metrics container on local'), 'metrics: not running (no metrics container on local); run `dbaas cluster add-metrics orders`');
});
