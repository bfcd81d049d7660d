/**
 * Issue 15 on one real cluster (pg-0 leader, pg-1, fast profile, etcdMembers 1, no backups),
 * the test's own worker and Prometheus (test/helpers/prometheus.ts) on the targets the cluster
 * watch publishes. One cluster for all of it, so the steps run in an order that keeps them apart:
 * 1. the exporters: the metrics container beside HAProxy answers `/probe?target=pg-N` with pg_up 1
 *    and `target=pgbouncer-rw|ro` with the poolers' metrics; the monitor role has pg_monitor only;
 *    the worker's facts endpoint lists the cluster; no password in `docker inspect` of the metrics
 *    container, its processes or any metrics output; then every Prometheus target of the cluster is up;
 * 2. `dbaas logs` after a switchover to pg-1: the old leader demotes, the new one promotes, in time
 *    order, each line behind its member/component; --grep, --since, --member, --component filter;
 *    bad input exits 2 with one line; `cluster status` reads every running member's disk;
 * 3. `replica add`: pg-2 is scraped without a Prometheus restart;
 * 4. the dashboard (`dbaas dashboard` in headless Chromium): the cluster with its three members,
 *    a lag chart with points, a screenshot (test-results/dashboard.png), no password in anything
 *    it serves;
 * 5. pg-0 (a replica since the switchover) stopped: DbaasMemberDown fires within its `for`, its
 *    disk shows as unknown while the running members' are read, its logs are still there;
 * 6. `cluster delete`: the target file and the metrics container are gone, Prometheus drops the targets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { ClusterStatus } from '../../client/cluster-info';
import type { ClusterView } from '../../client/dashboard/api';
import { CHART_IDS, type ChartData } from '../../client/dashboard/chart-queries';
import type { VolumeUse } from '../../common/volume-use';
import type { LastBackup } from '../../common/backup-age';
import { PROJECT_ROOT } from '../../common/paths';
import { METRICS_MEMBER, METRICS_PORT } from '../../common/render/metrics';
import { containerName } from '../../common/resource-names';
import { execIn } from '../../activities/docker';
import { localInventory } from '../../activities/hosts/inventory';
import { scrapeTargetsFileName } from '../../activities/scrape-target-groups';
import { readClusterSecrets } from '../../activities/secrets';
import { psqlOn } from '../../activities/upgrade/psql';
import { startFactsServer } from '../../worker/facts';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';
import { eventually } from '../helpers/deadline';
import { startTestPrometheus, type ActiveTarget, type TestPrometheus } from '../helpers/prometheus';
import { TEST_OUTPUT_DIR, chromiumSkipReason, openInChromium, startDashboardCli, type Served } from '../helpers/dashboard';

const docker = new Docker();
const S = testClusterName('obs');
const MEMBERS = ['pg-0', 'pg-1'];
const METRICS = containerName(S, METRICS_MEMBER);
let it: IntegrationEnv;
let prom: TestPrometheus;
/** Every metrics body fetched here, checked for passwords. */
const outputs: string[] = [];
/** Just before the switchover: what --since cuts at. */
let switchedAt = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = (...args: string[]) => runCli(args, childEnv(it.env, it.paths));

before(async () => {
  it = await startIntegration(docker);
  prom = await startTestPrometheus({ targetsDir: it.paths.scrapeTargets });
  await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
});

after(async () => {
  await prom?.stop();
  await it?.stop([S]);
});

/** The cluster's passwords, each checked against what is shown. */
function clusterSecrets(): string[] {
  const secrets = Object.values(readClusterSecrets(it.paths, S)).filter((v): v is string => typeof v === 'string' && v.length > 0);
  assert.ok(secrets.length >= 5);
  return secrets;
}

// ---- 1. Exporters, the facts endpoint, Prometheus targets --------------------------------------

/** GET /probe?target=… on the metrics container's port published on 127.0.0.1. */
async function probe(target: string): Promise<{ status: number; body: string }> {
  const m = (await localInventory(docker).members(S, { kind: 'metrics' }))[0];
  const published = m?.published[METRICS_PORT];
  assert.ok(published && published.ip === '127.0.0.1', `${METRICS} publishes ${METRICS_PORT} on 127.0.0.1: ${JSON.stringify(m?.published)}`);
  const r = await fetch(`http://127.0.0.1:${published.port}/probe?target=${encodeURIComponent(target)}`, { signal: AbortSignal.timeout(15_000) });
  const body = await r.text();
  outputs.push(body);
  return { status: r.status, body };
}

test('one metrics container beside HAProxy, labelled as the cluster\'s, never counted as a PostgreSQL member', async () => {
  const inv = localInventory(docker);
  const metrics = await inv.members(S, { kind: 'metrics' });
  assert.deepEqual(metrics.map((m) => [m.name, m.container, m.state]), [[METRICS_MEMBER, METRICS, 'running']]);
  assert.deepEqual(await inv.memberNames(S, { kind: 'postgres' }), MEMBERS);
  const status = await cli('cluster', 'status', S, '--json');
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { members: { name: string }[] }).members.map((m) => m.name).sort(), MEMBERS);
});

test('the postgres exporter answers for every member with pg_up 1; an unknown target is refused', async () => {
  for (const member of MEMBERS) {
    const r = await probe(member);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^pg_up 1$/m, `${member}: ${r.body.slice(0, 300)}`);
    assert.match(r.body, new RegExp(`^pg_static\\{server="${containerName(S, member)}:5432"`, 'm'));
  }
  assert.equal((await probe('etcd-0')).status, 400);
  assert.equal((await probe('pg-0&target=pg-1')).status, 400);
});

test('the pgbouncer exporter answers for both poolers (the monitor role is their stats user)', async () => {
  for (const pooler of ['pgbouncer-rw', 'pgbouncer-ro']) {
    const r = await probe(pooler);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^pgbouncer_waiting_clients\{/m, `${pooler}: ${r.body.slice(0, 300)}`);
    assert.match(r.body, /^pgbouncer_requests_total\{database="pgbouncer"\}/m);
  }
});

test('the monitor role has pg_monitor only', async () => {
  const row = await psqlOn(docker, containerName(S, 'pg-0'), 'postgres',
    "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, (select string_agg(g.rolname, ',') from pg_auth_members a join pg_roles g on g.oid = a.roleid where a.member = r.oid) from pg_roles r where rolname = 'dbaas_monitor'");
  assert.equal(row, 'f|f|f|f|f|pg_monitor');
});

test('the worker\'s facts endpoint lists the cluster, its version and its members\' volumes', async () => {
  const server = await startFactsServer({ host: '127.0.0.1', port: 0 }, { inventory: localInventory(docker), paths: it.paths, client: it.env.client });
  try {
    const { port } = server.address() as AddressInfo;
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    const body = await r.text();
    outputs.push(body);
    assert.equal(r.status, 200, body);
    assert.match(body, new RegExp(`^dbaas_cluster_info\\{cluster="${S}",version="17"\\} 1$`, 'm'));
    for (const member of MEMBERS) {
      const size = new RegExp(`^dbaas_volume_size_bytes\\{cluster="${S}",member="${member}"\\} (\\d+)$`, 'm').exec(body);
      const used = new RegExp(`^dbaas_volume_used_bytes\\{cluster="${S}",member="${member}"\\} (\\d+)$`, 'm').exec(body);
      assert.ok(size && used && Number(size[1]) > Number(used[1]) && Number(used[1]) > 0, `${member}'s volume: ${body}`);
    }
    assert.doesNotMatch(body, new RegExp(`dbaas_backup_last_completed_timestamp_seconds\\{cluster="${S}"`), 'no backups, no backup facts');
  } finally {
    server.close();
  }
});

test('no password in `docker inspect` of the metrics container, its processes\' command lines, or any metrics output', async () => {
  const secrets = clusterSecrets();
  const ct = docker.getContainer(METRICS);
  const inspect = JSON.stringify(await ct.inspect());
  // The exporters it started for the probes above, with their arguments.
  const top = JSON.stringify(await ct.top({ ps_args: '-eo pid,args' }));
  assert.match(top, /prometheus-postgres-exporter/);
  assert.match(top, /pgbouncer_exporter\.py/);
  // Their environment too (the image has no procps): the password is there by file name only.
  const env = (await execIn(docker, METRICS, ['sh', '-c', 'for e in /proc/[0-9]*/environ; do tr "\\0" "\\n" < "$e"; done 2>/dev/null'])).output;
  assert.match(env, /DATA_SOURCE_PASS_FILE=\/etc\/dbaas-metrics\/password/);
  assert.match(env, /PGPASSFILE=\/etc\/dbaas-metrics\/pgpass/);
  for (const secret of secrets) {
    for (const [what, text] of [['docker inspect', inspect], ['processes', top], ['exporter environment', env], ['metrics output', outputs.join('\n')]]) {
      assert.ok(!text.includes(secret), `a password appears in ${what}`);
    }
  }
});

const clusterTargets = async (): Promise<ActiveTarget[]> => (await prom.activeTargets()).filter((t) => t.labels.cluster === S);
const named = (ts: ActiveTarget[]): string[] => ts.map((t) => `${t.labels.component} ${t.labels.member} ${t.health}`).sort();

test('Prometheus: every target of the cluster is up, labelled with cluster, member, host, component', async () => {
  const ts = await eventually('every target up', async () => {
    const now = await clusterTargets();
    return now.length >= 7 && now.every((t) => t.health === 'up') ? now : undefined;
  }, 90_000);
  const names = named(ts);
  // Patroni and the PostgreSQL exporter of every member, HAProxy, and both poolers' exporters.
  const expected = ['patroni pg-0 up', 'patroni pg-1 up', 'postgres pg-0 up', 'postgres pg-1 up', 'haproxy haproxy up', 'pgbouncer pgbouncer-rw up', 'pgbouncer pgbouncer-ro up'];
  for (const e of expected) assert.ok(names.includes(e), `${e} among ${names.join(', ')}`);
  for (const t of ts) for (const l of ['cluster', 'member', 'host', 'component']) assert.ok(t.labels[l], `${t.scrapeUrl} has ${l}`);
});

// ---- 2. Logs after a switchover, disk use ------------------------------------------------------

interface JsonLine { time: string; member: string; host: string; component: string; line: string }

async function logsJson(...args: string[]): Promise<JsonLine[]> {
  const r = await cli('logs', S, '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JsonLine);
}

/** Where the first line of `member/component` matching `re` is (-1: none). */
const indexOf = (lines: JsonLine[], member: string, component: string, re: RegExp): number =>
  lines.findIndex((l) => l.member === member && l.component === component && re.test(l.line));

// Lines Patroni (3.0.2 and 4.0.7, ha.py) and PostgreSQL (15, 17) print on a switchover.
const DEMOTING = /Demoting self \(graceful\)/;
const PROMOTED = /promoted self to leader by acquiring session lock/;
const READ_WRITE = /database system is ready to accept connections/;
const READ_ONLY = /database system is ready to accept read-only connections/;
const BOOTSTRAPPED = /initialized a new cluster/;

test('a switchover to pg-1 (what the logs tests read)', async () => {
  // Docker's log times and this machine's clock are the same clock; a second apart keeps the bootstrap's lines before it.
  await sleep(1000);
  switchedAt = new Date().toISOString();
  const r = await cli('switchover', S, '--to', 'pg-1');
  assert.equal(r.code, 0, r.stderr + r.stdout);
});

test('logs after a switchover: the old leader demotes, then the new one promotes and serves writes, the old one serves reads, all in time order', async () => {
  let lines: JsonLine[] = [];
  // The old leader comes back as a replica a moment after the workflow ends.
  for (let i = 0; i < 60; i++) {
    lines = await logsJson();
    if (indexOf(lines, 'pg-1', 'postgres', READ_WRITE) >= 0 && indexOf(lines, 'pg-0', 'postgres', READ_ONLY) >= 0) break;
    await sleep(1000);
  }
  const times = lines.map((l) => Date.parse(l.time));
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]), 'lines in time order');
  for (const k of ['pg-0/patroni', 'pg-0/postgres', 'pg-1/patroni', 'pg-1/postgres']) assert.ok(lines.some((l) => `${l.member}/${l.component}` === k), `${k} has lines`);

  const demoting = indexOf(lines, 'pg-0', 'patroni', DEMOTING);
  const promoted = indexOf(lines, 'pg-1', 'patroni', PROMOTED);
  const writable = indexOf(lines, 'pg-1', 'postgres', READ_WRITE);
  const readOnly = indexOf(lines, 'pg-0', 'postgres', READ_ONLY);
  console.log(lines.slice(Math.max(0, demoting - 2), Math.max(writable, readOnly) + 2).map((l) => `${l.time} ${l.member}/${l.component} ${l.line}`).join('\n'));
  assert.ok(demoting >= 0, 'pg-0 (Patroni) demotes itself');
  assert.ok(promoted > demoting, 'pg-1 (Patroni) promotes itself after pg-0 demoted');
  assert.ok(writable > promoted, 'pg-1 (PostgreSQL) accepts writes after the promotion');
  assert.ok(readOnly > demoting, 'pg-0 (PostgreSQL) is back as a read-only replica after the demotion');
  assert.ok(indexOf(lines, 'pg-0', 'patroni', BOOTSTRAPPED) >= 0 && indexOf(lines, 'pg-0', 'patroni', BOOTSTRAPPED) < demoting, 'the bootstrap is there, before');

  // The text form: each line behind member/component.
  const text = await cli('logs', S);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^pg-1\/patroni +\S.*promoted self to leader by acquiring session lock$/m);
  assert.match(text.stdout, /^pg-0\/patroni +\S.*Demoting self \(graceful\)$/m);
  assert.match(text.stdout, /^pg-1\/postgres +\S.*database system is ready to accept connections$/m);
});

test('logs: --grep, --since, --member and --component filter', async () => {
  const all = await logsJson();
  const grep = await logsJson('--grep', 'promoted self to leader|Demoting self');
  assert.ok(grep.length >= 2 && grep.length < all.length, `${grep.length} of ${all.length} lines`);
  assert.ok(grep.every((l) => /promoted self to leader|Demoting self/.test(l.line)));
  assert.ok(indexOf(grep, 'pg-0', 'patroni', DEMOTING) < indexOf(grep, 'pg-1', 'patroni', PROMOTED));

  const since = await logsJson('--since', switchedAt);
  assert.ok(since.every((l) => Date.parse(l.time) >= Date.parse(switchedAt)), 'nothing before --since');
  assert.ok(indexOf(since, 'pg-1', 'patroni', PROMOTED) >= 0, 'the promotion is after --since');
  assert.equal(indexOf(since, 'pg-0', 'patroni', BOOTSTRAPPED), -1, 'the bootstrap is before --since');
  assert.ok(indexOf(await logsJson('--since', '10m'), 'pg-0', 'patroni', DEMOTING) >= 0, '--since 10m reaches the switchover');

  const pg1 = await logsJson('--member', 'pg-1', '--component', 'postgres');
  assert.ok(pg1.length > 0 && pg1.every((l) => l.member === 'pg-1' && l.component === 'postgres'));
  const etcd = await logsJson('--component', 'etcd');
  assert.ok(etcd.length > 0 && etcd.every((l) => l.member === 'etcd-0' && l.component === 'etcd'));
});

test('logs, bad input: one line, exit 2', async () => {
  for (const [args, said] of [
    [['logs', S, '--member', 'nosuch'], /no member nosuch/],
    [['logs', S, '--component', 'kernel'], /--component/],
    [['logs', S, '--member', 'etcd-0', '--component', 'postgres'], /writes no postgres lines/],
    [['logs', S, '--since', 'yesterday'], /--since/],
    [['logs', S, '--grep', '(unclosed'], /--grep/],
    [['logs', 't-nosuch-cluster'], /no cluster named/],
  ] as [string[], RegExp][]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, said);
    assert.equal(r.stdout, '');
  }
});

type StatusWithDisk = ClusterStatus & { members: { disk: VolumeUse | null }[]; lastBackup: LastBackup | null };

async function status(): Promise<StatusWithDisk> {
  const r = await cli('cluster', 'status', S, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusWithDisk;
}

test('cluster status: disk use of every running member, and no last backup', async () => {
  const s = await status();
  assert.equal(s.members.length, 2);
  for (const m of s.members) assert.ok(m.disk && m.disk.usedBytes > 0 && m.disk.sizeBytes >= m.disk.usedBytes, `${m.name}: ${JSON.stringify(m.disk)}`);
  assert.equal(s.lastBackup, null, 'no backups on this cluster');
  const text = await cli('cluster', 'status', S);
  assert.match(text.stdout, /\bdisk\b/);
  assert.match(text.stdout, /\d+\.\d (KiB|MiB|GiB) of \d+\.\d (MiB|GiB|TiB) \(\d+%\)/);
});

// ---- 3. A replica added ------------------------------------------------------------------------

test('a replica added is scraped without a Prometheus restart', async () => {
  const added = await cli('replica', 'add', S);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  // Both its targets: Patroni's /metrics and its PostgreSQL exporter.
  await eventually('pg-2 scraped', async () => {
    const up = (await clusterTargets()).filter((t) => t.labels.member === 'pg-2' && t.health === 'up').map((t) => t.labels.component);
    return up.includes('patroni') && up.includes('postgres') ? up : undefined;
  }, 60_000);
});

// ---- 4. The dashboard --------------------------------------------------------------------------

/** Every API route the page reads for one cluster (dashboard/app.js). */
const apiRoutes = (cluster: string): string[] => [
  '/api/clusters',
  '/api/alerts',
  `/api/clusters/${cluster}/events`,
  ...CHART_IDS.map((id) => `/api/clusters/${cluster}/charts/${id}`),
];

test('the dashboard in headless Chromium: the cluster with its members, a lag chart with points, a screenshot, no password served', { skip: chromiumSkipReason() }, async () => {
  const secrets = clusterSecrets();
  const dashboard = await startDashboardCli(childEnv(it.env, it.paths), prom.url);
  try {
    const browser = await openInChromium(`${dashboard.url}/?cluster=${encodeURIComponent(S)}`);
    try {
      const { page } = browser;
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });

      // The cluster list: this cluster, its three members, pg-1 the leader since the switchover.
      const rows = page.locator(`[data-cluster="${S}"] tbody tr`);
      const members: string[][] = [];
      for (let i = 0; i < await rows.count(); i++) members.push(await rows.nth(i).locator('td').allTextContents());
      assert.deepEqual(members.map((m) => m[0]).sort(), ['pg-0', 'pg-1', 'pg-2'], JSON.stringify(members));
      assert.equal(members.find((m) => m[0] === 'pg-1')?.[1], 'leader', JSON.stringify(members));

      // The lag chart: points in the page's data and in uPlot's (the page redraws every 15 s).
      await page.waitForFunction('Number(document.querySelector(\'[data-chart="lag"]\')?.getAttribute("data-points")) > 0', undefined, { timeout: 60_000 });
      assert.equal(await page.locator('[data-chart="lag"] canvas').count() > 0, true, 'uPlot drew the lag chart');
      const plotted = await page.evaluate('plots.get("lag").data.slice(1).map((s) => s.filter((v) => v != null).length)') as number[];
      assert.ok(plotted.some((n) => n > 0), `uPlot's lag series have points: ${JSON.stringify(plotted)}`);
      console.log(`lag chart: ${await page.locator('[data-chart="lag"]').getAttribute('data-points')} points; uPlot series points ${JSON.stringify(plotted)}`);

      fs.mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
      const shot = path.join(TEST_OUTPUT_DIR, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`dashboard screenshot: ${shot}`);
      if (process.env.DBAAS_UPDATE_SCREENSHOT === '1') {
        const docsShot = path.join(PROJECT_ROOT, 'docs', 'dashboard.png');
        fs.copyFileSync(shot, docsShot);
        console.log(`dashboard screenshot copied to ${docsShot}`);
      }

      // The page asked for every API route, and nothing it received or shows holds a password.
      const served: Served[] = await browser.served();
      const asked = new Set(served.map((s) => new URL(s.url).pathname));
      for (const route of apiRoutes(S)) assert.ok(asked.has(route), `the page asked for ${route}: ${[...asked].join(', ')}`);
      const shown = await page.content();
      for (const secret of secrets) {
        for (const s of served) assert.ok(!s.body.includes(secret), `a password appears in ${s.url}`);
        assert.ok(!shown.includes(secret), 'a password appears in the page');
      }
    } finally {
      await browser.close();
    }

    // The same routes read straight: each answers, and no password is in any answer.
    const answers = new Map<string, string>();
    for (const route of ['/', '/app.js', '/style.css', '/vendor/uplot.js', '/vendor/uplot.css', ...apiRoutes(S)]) {
      const r = await fetch(`${dashboard.url}${route}`, { signal: AbortSignal.timeout(15_000) });
      const body = await r.text();
      assert.equal(r.status, 200, `${route}: ${body.slice(0, 300)}`);
      answers.set(route, body);
      for (const secret of secrets) assert.ok(!body.includes(secret), `a password appears in ${route}`);
    }

    // Patroni reports 0 as the leader's replayed position: the lag chart leaves the leader out
    // rather than charting its whole WAL position as lag; a running replica has a value.
    const clusters = JSON.parse(answers.get('/api/clusters') ?? '[]') as ClusterView[];
    assert.equal(clusters.find((c) => c.name === S)?.leader, 'pg-1');
    const lag = JSON.parse(answers.get(`/api/clusters/${S}/charts/lag`) ?? '{}') as ChartData;
    let last = lag.times.length - 1;
    while (last >= 0 && lag.series.every((s) => s[last] === null)) last--;
    assert.ok(last >= 0, `the lag chart has points: ${JSON.stringify(lag)}`);
    const at = (member: string): number | null | undefined => lag.series[lag.labels.indexOf(member)]?.[last];
    assert.ok(at('pg-1') === null || at('pg-1') === undefined, `no lag for the leader: ${JSON.stringify(lag.labels)} ${at('pg-1')}`);
    assert.equal(typeof at('pg-0'), 'number', `pg-0 (a replica) has a lag: ${JSON.stringify(lag.labels)}`);
  } finally {
    await dashboard.stop();
  }
});

// ---- 5. A replica stopped ----------------------------------------------------------------------

test('a replica stopped: DbaasMemberDown fires within its for period', async () => {
  const stoppedAt = Date.now();
  await docker.getContainer(containerName(S, 'pg-0')).stop({ t: 30 });
  const alert = await eventually('DbaasMemberDown firing', async () => (await prom.alerts()).find(
    (a) => a.labels.alertname === 'DbaasMemberDown' && a.labels.cluster === S && a.labels.member === 'pg-0' && a.state === 'firing',
  ), 90_000);
  assert.equal(alert.labels.severity, 'warning');
  // for 30 s, plus a scrape (10 s) and an evaluation (10 s) on each side, plus the stop itself.
  assert.ok(Date.now() - stoppedAt < 80_000, `fired ${(Date.now() - stoppedAt) / 1000} s after the stop`);
  const others = (await prom.alerts()).filter((a) => a.labels.cluster === S && a.labels.alertname === 'DbaasMemberDown' && a.labels.member !== 'pg-0');
  assert.deepEqual(others, [], 'only the stopped member is down');
});

test('cluster status: a stopped member shows no disk, the running ones theirs; its logs are still there', async () => {
  // The watch leaves a member stopped cleanly as it is; judge by its state all the same.
  const stopped = await status();
  assert.equal(stopped.members.length, 3);
  for (const m of stopped.members) {
    if (m.container.state === 'running') assert.ok(m.disk, `${m.name} runs: its disk is read`);
    else assert.equal(m.disk, null, `${m.name} is ${m.container.state}: no disk`);
  }
  const lines = await logsJson('--member', 'pg-0');
  assert.ok(indexOf(lines, 'pg-0', 'patroni', DEMOTING) >= 0, "a stopped member's lines are still shown");
});

// ---- 6. Delete ---------------------------------------------------------------------------------

test('cluster delete removes the target file (Prometheus drops the targets) and the metrics container with the rest', async () => {
  const r = await cli('cluster', 'delete', S, '--purge-backups', '--yes');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.ok(!fs.existsSync(path.join(it.paths.scrapeTargets, scrapeTargetsFileName(S))));
  assert.deepEqual(await localInventory(docker).members(S, { kind: 'metrics' }), []);
  await eventually('the targets gone', async () => ((await clusterTargets()).length === 0 ? true : undefined), 30_000);
});
