/** The local Prometheus's configuration, the clusters' target groups, and when the watch publishes them. Pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { FILE_SD_COMPONENTS, NOT_RUNNING_ADDRESS, scrapeTargetGroups, type ScrapeEndpoint } from '../../activities/scrape-target-groups';
import { renderPrometheusConfig } from '../../client/dev/prometheus-yml';
import { RULES_FILE, WORKER_TARGETS, findPrometheusBinaries } from '../../client/dev/prometheus';
import { prometheusEndpoint } from '../../common/prometheus-config';
import { scrapeTargetsKey } from '../../common/scrape-targets';
import type { ClusterSnapshot, MemberObservation } from '../../common/events';

const endpoints: ScrapeEndpoint[] = [
  { component: 'haproxy', member: 'haproxy', host: 'local', address: '172.20.0.5:7000' },
  { component: 'patroni', member: 'pg-10', host: 'h1', address: '10.77.0.11:49160' },
  { component: 'patroni', member: 'pg-1', host: 'local', address: undefined },
  { component: 'postgres', member: 'pg-0', host: 'local', address: '172.20.0.9:9187' },
  { component: 'patroni', member: 'pg-0', host: 'local', address: '172.20.0.2:8008' },
  { component: 'pgbouncer', member: 'pgbouncer-rw', host: 'local', address: '172.20.0.9:9127' },
];

test('one target group per endpoint, each labelled with cluster, member, host, component and a stable instance', () => {
  const groups = scrapeTargetGroups('orders', endpoints);
  assert.deepEqual(groups.map((g) => `${g.labels.component} ${g.labels.member}@${g.labels.host} ${g.targets.join(',')}`), [
    'patroni pg-10@h1 10.77.0.11:49160',
    'patroni pg-0@local 172.20.0.2:8008',
    `patroni pg-1@local ${NOT_RUNNING_ADDRESS}`,
    'postgres pg-0@local 172.20.0.9:9187',
    'haproxy haproxy@local 172.20.0.5:7000',
    'pgbouncer pgbouncer-rw@local 172.20.0.9:9127',
  ]);
  assert.deepEqual(groups[1].labels, { cluster: 'orders', member: 'pg-0', host: 'local', component: 'patroni', instance: 'orders/pg-0@local' });
  assert.deepEqual(scrapeTargetGroups('orders', [...endpoints].reverse()), groups, 'the same file whatever order the endpoints come in');
  assert.deepEqual(scrapeTargetGroups('orders', []), []);
});

test('prometheus.yml: a job per component reading every target file and keeping its own, the worker as static targets, the rules', () => {
  const doc = parse(renderPrometheusConfig({ targetsDir: '/home/u/.dbaas/prometheus/targets', ruleFiles: [RULES_FILE], staticTargets: WORKER_TARGETS }));
  assert.deepEqual(doc.global, { scrape_interval: '10s', scrape_timeout: '5s', evaluation_interval: '10s' });
  assert.deepEqual(doc.rule_files, [RULES_FILE]);
  const jobs = doc.scrape_configs as { job_name: string; file_sd_configs?: unknown; relabel_configs?: unknown; static_configs?: unknown }[];
  assert.deepEqual(jobs.map((j) => j.job_name), [...FILE_SD_COMPONENTS, 'dbaas', 'worker']);
  assert.deepEqual(jobs[0].file_sd_configs, [{ files: ['/home/u/.dbaas/prometheus/targets/*.json'] }]);
  assert.deepEqual(jobs[0].relabel_configs, [{ source_labels: ['component'], regex: 'patroni', action: 'keep' }]);
  assert.deepEqual(jobs[4].static_configs, [{ targets: ['127.0.0.1:9465'], labels: { host: 'local', component: 'dbaas' } }]);
  assert.deepEqual(jobs[5].static_configs, [{ targets: ['127.0.0.1:9464'], labels: { host: 'local', component: 'worker' } }]);
  const fast = parse(renderPrometheusConfig({ targetsDir: '/t', ruleFiles: [], staticTargets: [], intervalS: 2 }));
  assert.deepEqual(fast.global, { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '2s' });
  assert.deepEqual(fast.scrape_configs.map((j: { job_name: string }) => j.job_name), [...FILE_SD_COMPONENTS]);
});

test('promtool accepts the rendered configuration with the shipped rules', { skip: findPrometheusBinaries() === undefined && 'no promtool (dbaas dev up installs it)' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-prom-'));
  try {
    const file = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(file, renderPrometheusConfig({ targetsDir: path.join(dir, 'targets'), ruleFiles: [RULES_FILE], staticTargets: WORKER_TARGETS }));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(findPrometheusBinaries()!.promtool, ['check', 'config', file], (err, stdout, stderr) => (err ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout)));
    });
    assert.match(out, /SUCCESS: 9 rules found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('DBAAS_PROMETHEUS_PORT moves the server; anything but a port is refused', () => {
  assert.deepEqual(prometheusEndpoint({}), { host: '127.0.0.1', port: 9090, url: 'http://127.0.0.1:9090' });
  assert.equal(prometheusEndpoint({ DBAAS_PROMETHEUS_PORT: '19090' }).url, 'http://127.0.0.1:19090');
  assert.throws(() => prometheusEndpoint({ DBAAS_PROMETHEUS_PORT: '90x' }), /DBAAS_PROMETHEUS_PORT=90x is not a port/);
  assert.throws(() => prometheusEndpoint({ DBAAS_PROMETHEUS_PORT: '70000' }), /is not a port/);
});

test('the watch publishes anew when members come, go, stop, start or restart; not when only Patroni\'s view changes', () => {
  const m = (name: string, o: Partial<MemberObservation> = {}): MemberObservation => ({
    name, host: 'local', container: 'running', exitCode: 0, finishedAt: '0001-01-01T00:00:00Z', patroni: { role: 'replica', state: 'running', lag: 0 }, ...o,
  });
  const snap = (members: MemberObservation[]): ClusterSnapshot => ({ at: 0, patroniAnswered: true, members });
  const base = scrapeTargetsKey(snap([m('pg-0'), m('pg-1')]));
  assert.equal(scrapeTargetsKey(snap([m('pg-1'), m('pg-0', { patroni: { role: 'leader', state: 'running', timeline: 2 } })])), base);
  for (const changed of [
    [m('pg-0'), m('pg-1'), m('pg-2')],
    [m('pg-0')],
    [m('pg-0'), m('pg-1', { container: 'exited', exitCode: 137 })],
    [m('pg-0'), m('pg-1', { finishedAt: '2026-01-01T12:00:00Z' })],
    [m('pg-0'), m('pg-1', { host: 'h2' })],
  ]) assert.notEqual(scrapeTargetsKey(snap(changed)), base, JSON.stringify(changed));
});
