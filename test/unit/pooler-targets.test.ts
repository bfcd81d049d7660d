/**
 * Pooler metrics of a cluster across hosts: each front door's metrics container probes its own
 * poolers (by their host alias on the overlay), and each pooler's target goes through the metrics
 * container of its own host, labelled with that host, so two front doors' series never mix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Member } from '../../common/inventory';
import { poolerHostAlias, probeConfig, renderProbeConfig } from '../../common/render/metrics';
import { CLUSTER_NAME_MAX } from '../../common/spec';
import { exporterScrapeEndpoints, NOT_RUNNING_ADDRESS, scrapeTargetGroups } from '../../activities/scrape-target-groups';

const member = (name: string, kind: Member['kind'], host: string, state: Member['state'] = 'running'): Member => ({
  cluster: 'orders', name, kind, host, container: `dbaas-orders-${name}`, state, createdAt: '2024-05-01T00:00:00Z', ip: null,
  published: {}, portLabels: {}, nofailover: false, repository: null, backupServerPort: null, createdWith: null, generation: 1,
});

/** Where Prometheus opens each host's metrics container. */
const metricsAddress: Record<string, string> = { h1: '10.77.0.11:32001', h2: '10.77.0.12:32002' };

test('a pooler on an added host answers to <container>.<host>; on this machine to its container name alone', () => {
  assert.equal(poolerHostAlias('orders', 'pgbouncer-rw', 'h2'), 'dbaas-orders-pgbouncer-rw.h2');
  assert.equal(poolerHostAlias('orders', 'pgbouncer-ro', 'local'), undefined);
  // The longest names: every DNS label within 63 characters (a resolver refuses a longer one).
  const alias = poolerHostAlias('c'.repeat(CLUSTER_NAME_MAX), 'pgbouncer-ro', `h${'x'.repeat(19)}`)!;
  assert.ok(alias.split('.').every((label) => label.length <= 63), alias);
});

test('probe.json on one host is as before; on an added host it names the aliases its own poolers answer to', () => {
  const single = probeConfig({ cluster: 'orders', tls: true });
  assert.ok(!('poolerAliases' in single), 'no alias on one host: the poolers are reached by their container name');
  assert.deepEqual(probeConfig({ cluster: 'orders', tls: true, poolerAliases: {} }), single);
  const rendered = JSON.parse(renderProbeConfig({ cluster: 'orders', tls: true, poolerAliases: { 'pgbouncer-rw': 'dbaas-orders-pgbouncer-rw.h2', 'pgbouncer-ro': 'dbaas-orders-pgbouncer-ro.h2' } })) as Record<string, unknown>;
  assert.deepEqual(rendered.poolerAliases, { 'pgbouncer-rw': 'dbaas-orders-pgbouncer-rw.h2', 'pgbouncer-ro': 'dbaas-orders-pgbouncer-ro.h2' });
  // TLS still checks the container's name (the pooler's certificate holds it): the prefix is unchanged.
  assert.equal(rendered.hostPrefix, 'dbaas-orders-');
});

test('two front doors: each pooler\'s target goes through its own host\'s metrics container, labelled with its host', () => {
  const members = [
    member('pg-0', 'postgres', 'h1'), member('pg-1', 'postgres', 'h2'),
    ...['h1', 'h2'].flatMap((h) => [member('haproxy', 'haproxy', h), member('pgbouncer-rw', 'pgbouncer', h), member('pgbouncer-ro', 'pgbouncer', h), member('metrics', 'metrics', h)]),
  ];
  const groups = scrapeTargetGroups('orders', exporterScrapeEndpoints(members, (m) => metricsAddress[m.host]));
  const poolers = groups.filter((g) => g.labels.component === 'pgbouncer').map((g) => [g.labels.instance, g.labels.host, g.targets[0], g.labels.__param_target]);
  assert.deepEqual(poolers, [
    ['orders/pgbouncer-ro@h1', 'h1', metricsAddress.h1, 'pgbouncer-ro'],
    ['orders/pgbouncer-rw@h1', 'h1', metricsAddress.h1, 'pgbouncer-rw'],
    ['orders/pgbouncer-ro@h2', 'h2', metricsAddress.h2, 'pgbouncer-ro'],
    ['orders/pgbouncer-rw@h2', 'h2', metricsAddress.h2, 'pgbouncer-rw'],
  ]);
  // No two targets share their labels: the two front doors' series stay apart.
  const keys = groups.map((g) => JSON.stringify(g.labels));
  assert.equal(new Set(keys).size, keys.length);
});

test('a front door whose metrics container does not run: its poolers\' targets are down, not read through another host', () => {
  const members = [
    member('pg-0', 'postgres', 'h1'), member('pg-1', 'postgres', 'h2'),
    member('pgbouncer-rw', 'pgbouncer', 'h1'), member('pgbouncer-rw', 'pgbouncer', 'h2'),
    member('metrics', 'metrics', 'h1'), member('metrics', 'metrics', 'h2', 'exited'),
  ];
  const endpoints = exporterScrapeEndpoints(members, (m) => metricsAddress[m.host]);
  const at = (name: string, host: string): string | undefined => endpoints.find((e) => e.member === name && e.host === host)?.address;
  assert.equal(at('pgbouncer-rw', 'h2'), undefined, 'down: h1\'s container would probe h1\'s pooler');
  assert.equal(scrapeTargetGroups('orders', endpoints).find((g) => g.labels.instance === 'orders/pgbouncer-rw@h2')?.targets[0], NOT_RUNNING_ADDRESS);
  assert.equal(at('pgbouncer-rw', 'h1'), metricsAddress.h1);
  assert.equal(at('pg-1', 'h2'), metricsAddress.h1, 'a Postgres member is reached by its unique name from any host');
});
