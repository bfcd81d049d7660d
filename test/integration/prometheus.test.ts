/**
 * A real Prometheus (the test's own, test/helpers/prometheus.ts) on the targets the cluster watch
 * publishes: after `cluster create` every target of the cluster is up; after `replica add` the
 * new member is scraped without a restart; a replica stopped goes to DbaasMemberDown firing
 * within its `for` (30 s) plus a scrape and an evaluation; `cluster delete` takes the targets away.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { containerName } from '../../common/resource-names';
import { scrapeTargetsFileName } from '../../activities/scrape-target-groups';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';
import { eventually } from '../helpers/deadline';
import { startTestPrometheus, type ActiveTarget, type TestPrometheus } from '../helpers/prometheus';

const docker = new Docker();
const C = testClusterName('prom');
let it: IntegrationEnv;
let prom: TestPrometheus;

before(async () => {
  it = await startIntegration(docker);
  prom = await startTestPrometheus({ targetsDir: it.paths.scrapeTargets });
  await it.createCluster({ name: C, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
});

after(async () => {
  await prom?.stop();
  await it?.stop([C]);
});

const clusterTargets = async (): Promise<ActiveTarget[]> => (await prom.activeTargets()).filter((t) => t.labels.cluster === C);
const named = (ts: ActiveTarget[]): string[] => ts.map((t) => `${t.labels.component} ${t.labels.member} ${t.health}`).sort();

test('after create, every target of the cluster is up, labelled with cluster, member, host, component', async () => {
  const ts = await eventually('every target up', async () => {
    const now = await clusterTargets();
    return now.length >= 3 && now.every((t) => t.health === 'up') ? now : undefined;
  }, 90_000);
  const names = named(ts);
  for (const expected of ['patroni pg-0 up', 'patroni pg-1 up', 'haproxy haproxy up']) assert.ok(names.includes(expected), names.join(', '));
  for (const t of ts) for (const l of ['cluster', 'member', 'host', 'component']) assert.ok(t.labels[l], `${t.scrapeUrl} has ${l}`);
});

test('a replica added is scraped without a Prometheus restart', async () => {
  const added = await runCli(['replica', 'add', C], childEnv(it.env, it.paths));
  assert.equal(added.code, 0, added.stderr + added.stdout);
  await eventually('pg-2 scraped', async () => (await clusterTargets()).find((t) => t.labels.member === 'pg-2' && t.labels.component === 'patroni' && t.health === 'up'), 60_000);
});

test('a replica stopped: DbaasMemberDown fires within its for period', async () => {
  const stoppedAt = Date.now();
  await docker.getContainer(containerName(C, 'pg-2')).stop({ t: 30 });
  const alert = await eventually('DbaasMemberDown firing', async () => (await prom.alerts()).find(
    (a) => a.labels.alertname === 'DbaasMemberDown' && a.labels.cluster === C && a.labels.member === 'pg-2' && a.state === 'firing',
  ), 90_000);
  assert.equal(alert.labels.severity, 'warning');
  // for 30 s, plus a scrape (10 s) and an evaluation (10 s) on each side, plus the stop itself.
  assert.ok(Date.now() - stoppedAt < 80_000, `fired ${(Date.now() - stoppedAt) / 1000} s after the stop`);
  const others = (await prom.alerts()).filter((a) => a.labels.cluster === C && a.labels.alertname === 'DbaasMemberDown' && a.labels.member !== 'pg-2');
  assert.deepEqual(others, [], 'only the stopped member is down');
});

test('cluster delete removes the target file: Prometheus drops the targets', async () => {
  const r = await runCli(['cluster', 'delete', C, '--purge-backups', '--yes'], childEnv(it.env, it.paths));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.ok(!fs.existsSync(path.join(it.paths.scrapeTargets, scrapeTargetsFileName(C))));
  await eventually('the targets gone', async () => ((await clusterTargets()).length === 0 ? true : undefined), 30_000);
});
