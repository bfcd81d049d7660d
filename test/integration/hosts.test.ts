/**
 * Hosts: three simulated hosts (a dockerd each, in its own network namespace) added by
 * `dev hosts up`, each with its worker polling its own task queue from inside its namespace;
 * `host list` as an operator reads it; a cluster across the three (two Postgres members on two
 * hosts, an etcd member on each, a front door beside each Postgres member whose metrics container
 * probes that door's own poolers); the leader's host crashes under a writer, its member is re-created on the third host after --replace-after and
 * fenced when the host returns; `host drain` of the leader's host under a writer; `replica add`
 * with its host's worker SIGKILLed mid-way; `host remove` refused while a host runs a member;
 * `dev hosts down` leaves nothing. The main engine never joins the swarm.
 *
 * Backups go to a real S3 server (SeaweedFS) on this machine, the control machine of the
 * simulated LAN: published on 127.0.0.1 and offered to the hosts at 10.77.0.1 (their
 * host-gateway), the same `host.docker.internal:PORT` for members on every engine. A backup and
 * WAL archiving carry on after the leader moved to another host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { childEnv, runCli, startChildWorker, tempPaths, testClusterName } from '../helpers/integration';
import type { ClusterStatus } from '../../client/cluster-info';
import { labels } from '../../common/labels';
import { TASK_QUEUE, hostTaskQueue } from '../../common/task-queues';
import { s3ServerSkipReason, startS3ServerOnDockerHost, stopS3Server, type DockerHostS3Server } from '../helpers/s3-server';
import { removeS3ClientFiles, writeS3ClientFiles, type S3ClientFiles } from '../helpers/s3-files';
import type { StanzaSummary } from '../../common/backup';
import type { HostView } from '../../client/commands/host';
import { NOT_RUNNING_ADDRESS, scrapeTargetsFileName, type ScrapeTargetGroup } from '../../activities/scrape-target-groups';

/**
 * The images a cluster's members run (backups go to S3 from the members themselves: no repository
 * image). The file's clusters run PostgreSQL 15 (the 15 lane, see postgres15.test.ts): one
 * PostgreSQL image per host to copy instead of two.
 */
const SIM_IMAGES = 'debian:bookworm-slim dbaas/postgres:local dbaas/etcd:local dbaas/haproxy:local dbaas/pgbouncer:local dbaas/metrics:local';
let env: TestWorkflowEnvironment;
let cli: NodeJS.ProcessEnv;
/** This file's DBAAS_HOME paths (the host workers' pid files are under run/). */
let home: ReturnType<typeof tempPaths>;
/** The control worker (shared queue, every host's engine by socket), as `dev up` runs it. */
let control: ChildProcess | undefined;
const SPREAD = testClusterName('spread');
/** A small image for a stand-in container. */
const SLIM = 'debian:bookworm-slim';
let s3: DockerHostS3Server | undefined;
let s3Files: S3ClientFiles | undefined;
/** The cluster's backups: a prefix of the test's bucket, reached as host.docker.internal from every engine. */
const s3Flags = (): string[] => {
  assert.ok(s3 && s3Files);
  return ['--backup-to', `s3://${s3.bucket}/hosts`, '--s3-endpoint', `https://${s3.hostEndpoint}`, '--s3-region', s3.region, '--s3-credentials', s3Files.credentials, '--s3-ca', s3Files.ca, '--s3-uri-style', 'path'];
};
/** Set once this file found no simulated hosts of anyone else: only then does it tear hosts down. */
let ours = false;
const netns = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => /^dbaas-h\d+$/.test(n));
const mainSwarm = (): string => execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8' }).trim();
const hostList = async (): Promise<HostView[]> => JSON.parse((await runCli(['host', 'list', '--json'], cli)).stdout) as HostView[];

before(async () => {
  assert.deepEqual(netns(), [], 'simulated hosts of someone else are up (`dbaas dev hosts down` first): this test makes its own');
  ours = true;
  env = await startTestTemporal();
  const paths = tempPaths();
  home = paths;
  const noS3 = s3ServerSkipReason();
  assert.equal(noS3, undefined, noS3);
  s3 = await startS3ServerOnDockerHost(new Docker(), paths, { owner: testClusterName('hosts3') });
  s3Files = writeS3ClientFiles(s3);
  // The S3 port of this machine's loopback, offered to the simulated hosts beside Temporal's.
  cli = { ...childEnv(env, paths), DBAAS_SIM_IMAGES: SIM_IMAGES, DBAAS_SIM_LOOPBACK_PORTS: String(s3.api.port) };
  for (const k of Object.keys(cli)) if (k.startsWith('AWS_')) delete cli[k];
  control = startChildWorker(env, paths, path.join(paths.home, 'worker.log'));
});

after(async () => {
  // Down takes every host's engine and data root with it, a crashed host's too (and the cluster a failed test left there).
  if (ours) await runCli(['dev', 'hosts', 'down'], cli);
  control?.kill('SIGTERM');
  await env?.teardown();
  if (s3) await stopS3Server(new Docker(), s3);
  removeS3ClientFiles(s3Files);
});

/** One SQL text through psql (libpq takes multi-host URIs, node-postgres does not): its -At output. */
function psqlAt(uri: string, sql: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('psql', [uri, '-XAtqc', sql], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: err ? stderr : stdout.trim() }));
  });
}

/** scripts/sim-hosts.sh, as `dev hosts` runs it: crash (link down, every process of the host SIGKILLed), revive (its engine restarts). */
const simHosts = (...args: string[]): string => execFileSync('bash', [path.join(__dirname, '..', '..', '..', 'scripts', 'sim-hosts.sh'), ...args], { encoding: 'utf8' });

const engineOf = (k: number): Docker => new Docker({ socketPath: `/var/lib/dbaas-sim/h${k}/docker.sock` });

/** The cluster's containers on host hK, by name without the `dbaas-CLUSTER-` prefix. */
async function clusterContainersOn(k: number, cluster: string, o: { running?: boolean } = {}): Promise<string[]> {
  const filters = { label: [`dbaas.cluster=${cluster}`], ...(o.running ? { status: ['running'] } : {}) };
  const cs = await engineOf(k).listContainers({ all: !o.running, filters });
  return cs.map((c) => c.Names[0].replace(`/dbaas-${cluster}-`, '')).sort();
}

const status = async (cluster: string): Promise<ClusterStatus> => JSON.parse((await runCli(['cluster', 'status', cluster, '--json'], cli)).stdout) as ClusterStatus;

test('dev hosts up 3: three hosts with an address, a zone, an engine that answers and a worker on each own queue; the main engine stays out of the swarm', async () => {
  const up = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.deepEqual(netns().sort(), ['dbaas-h1', 'dbaas-h2', 'dbaas-h3']);
  let views = await hostList();
  // A worker's first poll reaches Temporal a moment after it starts.
  for (let i = 0; i < 30 && views.some((v) => v.name !== 'local' && v.worker !== 'polling'); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    views = await hostList();
  }
  const added = views.filter((v) => v.name !== 'local');
  assert.deepEqual(added.map((v) => [v.name, v.address, v.zone, v.state, v.worker]), [
    ['h1', '10.77.0.11', 'zone-1', 'up', 'polling'],
    ['h2', '10.77.0.12', 'zone-2', 'up', 'polling'],
    ['h3', '10.77.0.13', 'zone-3', 'up', 'polling'],
  ]);
  // Three engines of their own: each knows only its own containers and has its own name.
  const names = new Set<string>();
  for (const v of added) names.add((await new Docker({ socketPath: v.docker.replace('unix://', '') }).info()).Name);
  assert.equal(names.size, 3);
  assert.equal(mainSwarm(), 'inactive', 'the main engine never joins the swarm (it would lose its containers\' DNS names)');
  const again = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(again.code, 0, 'up again is a no-op: ' + again.stderr);
  assert.equal((await hostList()).length, 4);
});

test('not enough hosts for one member per host, or backups on this machine only (the default repository host): exit 2 before anything starts', async () => {
  const tooMany = await runCli(['cluster', 'create', SPREAD, '--version', '15', '--replicas', '3', '--no-backups'], cli);
  assert.equal(tooMany.code, 2, tooMany.stderr);
  assert.match(tooMany.stderr, /4 Postgres and 1 etcd members need 4 hosts .* 3 are available \(h1, h2, h3\).*--allow-colocate/);
  const backups = await runCli(['cluster', 'create', SPREAD, '--version', '15', '--replicas', '2'], cli);
  assert.equal(backups.code, 2);
  assert.match(backups.stderr, /backups of a cluster on added hosts go to S3 \(--backup-to s3:\/\/BUCKET\[\/PREFIX\] with --s3-endpoint\) or are off \(--no-backups\): the repository host runs on this machine only/);
  for (const k of [1, 2, 3]) assert.deepEqual(await clusterContainersOn(k, SPREAD), [], `nothing on h${k}`);
});

/** The cluster's Postgres members on each host (hK → names). */
async function postgresByHost(cluster: string): Promise<Record<string, string[]>> {
  const by: Record<string, string[]> = {};
  for (const k of [1, 2, 3]) by[`h${k}`] = (await clusterContainersOn(k, cluster)).filter((n) => n.startsWith('pg-'));
  return by;
}

/** Poll `cluster status` until `ok` holds (or the time is up); the last status. */
async function statusUntil(cluster: string, ok: (s: ClusterStatus) => boolean, seconds: number, each?: (s: ClusterStatus) => void): Promise<ClusterStatus> {
  let s = await status(cluster);
  for (let i = 0; i < seconds && !ok(s); i++) {
    each?.(s);
    await new Promise((r) => setTimeout(r, 1000));
    s = await status(cluster);
  }
  return s;
}

test('a cluster across three hosts: two Postgres members on two hosts, an etcd member on each, a front door beside each Postgres member; rw through the multi-host URI, read back through ro', async () => {
  // Two Postgres members on three hosts: the third host is where a lost host's member is re-created.
  const created = await runCli(['cluster', 'create', SPREAD, '--version', '15', '--replicas', '1', '--etcd', '3', '--sync', '--profile', 'fast', ...s3Flags(), '--replace-after', '15s'], cli);
  assert.equal(created.code, 0, created.stderr + created.stdout);
  // `docker ps` on each engine: what an operator of that machine sees.
  const front = ['haproxy', 'pgbouncer-ro', 'pgbouncer-rw'];
  const pg = await postgresByHost(SPREAD);
  const pgHosts = Object.keys(pg).filter((h) => pg[h].length > 0);
  assert.deepEqual(Object.values(pg).map((names) => names.length).sort(), [0, 1, 1], `one Postgres member on each of two hosts: ${JSON.stringify(pg)}`);
  for (const k of [1, 2, 3]) {
    const names = await clusterContainersOn(k, SPREAD);
    assert.equal(names.filter((n) => n.startsWith('etcd-')).length, 1, `one etcd member on h${k}: ${names}`);
    assert.equal(front.every((n) => names.includes(n)), pgHosts.includes(`h${k}`), `a front door on h${k} exactly when a Postgres member runs there: ${names}`);
  }
  const s = await status(SPREAD);
  assert.deepEqual(s.members.map((m) => m.host).sort(), pgHosts);
  const rw = (await runCli(['connect', SPREAD], cli)).stdout.trim();
  assert.match(rw, /@10\.77\.0\.1\d:\d+,10\.77\.0\.1\d:\d+\/app\?sslmode=verify-full.*target_session_attrs=read-write/);
  const made = await psqlAt(rw, 'create table spread (id int primary key); insert into spread values (1); select 1');
  assert.ok(made.ok, made.out);
  const ro = (await runCli(['connect', SPREAD, '--ro'], cli)).stdout.trim();
  let read = { ok: false, out: '' };
  for (let i = 0; i < 40 && read.out !== '1|t'; i++) {
    read = await psqlAt(ro, 'select (select count(*) from spread), pg_is_in_recovery()');
    if (read.out !== '1|t') await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(read.out, '1|t', 'the row, read on a replica through ro');
});

/** The cluster's target file as the cluster watch writes it for Prometheus (file-based discovery). */
function scrapeTargetsOf(cluster: string): ScrapeTargetGroup[] {
  try {
    return JSON.parse(fs.readFileSync(path.join(home.scrapeTargets, scrapeTargetsFileName(cluster)), 'utf8')) as ScrapeTargetGroup[];
  } catch {
    return [];
  }
}

/** Clients of database `app` in a pooler's metrics, as Prometheus scrapes them (`/probe?target=` the pooler); 0 when it has no such pool. */
async function appClients(target: ScrapeTargetGroup): Promise<number> {
  const r = await fetch(`http://${target.targets[0]}/probe?target=${target.labels.__param_target}`, { signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  assert.ok(r.ok, `${target.labels.instance}: HTTP ${r.status} ${text.slice(0, 200)}`);
  return [...text.matchAll(/^pgbouncer_active_clients\{database="app",user="[^"]+"\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

test('each front door\'s metrics container probes its own poolers: the target file labels each pooler with its host, and a client held on one front door shows in that door\'s pooler only', async () => {
  const s = await status(SPREAD);
  assert.equal(s.metrics.running, true, JSON.stringify(s.metrics));
  const doors = [...new Set(s.members.map((m) => m.host))].sort();
  assert.equal(doors.length, 2);
  const poolerTarget = (host: string): ScrapeTargetGroup | undefined =>
    scrapeTargetsOf(SPREAD).find((g) => g.labels.component === 'pgbouncer' && g.labels.member === 'pgbouncer-rw' && g.labels.host === host);
  // The watch publishes the file at its start and whenever the members change.
  for (let i = 0; i < 60 && !doors.every((h) => poolerTarget(h) && poolerTarget(h)!.targets[0] !== NOT_RUNNING_ADDRESS); i++) await new Promise((r) => setTimeout(r, 1000));
  for (const h of doors) {
    const g = poolerTarget(h);
    assert.ok(g, `a pgbouncer-rw target labelled host=${h}: ${JSON.stringify(scrapeTargetsOf(SPREAD))}`);
    assert.equal(g.labels.instance, `${SPREAD}/pgbouncer-rw@${h}`);
    assert.equal(g.labels.__param_target, 'pgbouncer-rw');
    assert.match(g.targets[0], new RegExp(`^10\\.77\\.0\\.1${h.slice(1)}:\\d+$`), `${h}'s pooler is scraped through the metrics container on ${h}`);
  }
  // A client held on one front door's pooled rw port: only that door's pooler has it.
  const [held, other] = doors;
  const pooled = (await runCli(['connect', SPREAD, '--pooled'], cli)).stdout.trim();
  const heldAt = pooled.match(new RegExp(`10\\.77\\.0\\.1${held.slice(1)}:\\d+`))?.[0];
  assert.ok(heldAt, `the pooled URI names ${held}: ${pooled.replace(/:[^:@/]*@/, ':***@')}`);
  const one = pooled.replace(/@[^/]+\//, `@${heldAt}/`);
  // Shorter than psqlAt's 20 s limit, longer than the probes below take to see it.
  const session = psqlAt(one, 'select pg_sleep(12)');
  let seen = [0, 0];
  for (let i = 0; i < 30 && seen[0] < 1; i++) {
    seen = [await appClients(poolerTarget(held)!), await appClients(poolerTarget(other)!)];
    if (seen[0] < 1) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(seen[0] >= 1, `the client held on ${held}'s pooler shows in ${held}'s pooler metrics: ${seen}`);
  assert.equal(seen[1], 0, `${other}'s pooler metrics are its own, not ${held}'s`);
  assert.ok((await session).ok);
});

/** `backup list --json`. */
async function backupList(cluster: string): Promise<StanzaSummary> {
  const r = await runCli(['backup', 'list', cluster, '--json'], cli);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout) as StanzaSummary;
}

/** The timeline of a WAL segment name (its first 8 hex digits). */
const timelineOf = (segment: string | null): number => parseInt((segment ?? '0').slice(0, 8), 16);

/** Timeline of the newest WAL in the repository before the leader's host crashed. */
let timelineBeforeCrash = 0;

test('a backup of the cluster across hosts runs in the leader\'s container on its host and lands in S3, as the WAL does', async () => {
  const ran = await runCli(['backup', 'run', SPREAD], cli);
  assert.equal(ran.code, 0, ran.stderr + ran.stdout);
  const list = await backupList(SPREAD);
  assert.equal(list.backups.length, 1, JSON.stringify(list));
  assert.match(list.repository ?? '', /^s3:\/\/.*\/hosts/);
  timelineBeforeCrash = timelineOf(list.archiveMax);
  assert.ok(timelineBeforeCrash >= 1, `WAL archived: ${list.archiveMax}`);
});

test('the leader\'s host crashes under a writer: writes resume through a surviving front door, no acknowledged row is lost (sync); after --replace-after the member is re-created on the third host; the old leader, back, is fenced and never leads', async (t) => {
  // The leader on h2 or h3 (`dbaas switchover` to the synchronous standby if it is on h1): h1 is the
  // swarm manager, and with it gone no host could attach new containers.
  let before = await status(SPREAD);
  let leader = before.members.find((m) => m.name === before.leader);
  if (leader?.host === 'h1') {
    const standby = before.members.find((m) => m.role === 'sync_standby');
    assert.ok(standby && standby.host !== 'h1', `a synchronous standby off h1: ${JSON.stringify(before.members.map((m) => [m.name, m.host, m.role]))}`);
    const switched = await runCli(['switchover', SPREAD, '--to', standby.name], cli);
    assert.equal(switched.code, 0, switched.stderr + switched.stdout);
    before = await statusUntil(SPREAD, (s) => s.leader === standby.name, 30);
    leader = before.members.find((m) => m.name === before.leader);
  }
  // In synchronous mode Patroni promotes only the synchronous standby: right after a switchover the
  // new leader names one in its next HA loop, and until then a crash of its host leaves no candidate.
  before = await statusUntil(SPREAD, (s) => s.members.some((m) => m.role === 'sync_standby'), 30);
  assert.ok(before.members.some((m) => m.role === 'sync_standby'), `a synchronous standby: ${JSON.stringify(before.members.map((m) => [m.name, m.role]))}`);
  assert.ok(leader && leader.host !== 'h1', `a leader off h1: ${JSON.stringify(before.members.map((m) => [m.name, m.host, m.role]))}`);
  const lostHost = leader.host;
  const k = Number(lostHost.slice(1));
  const survivor = before.members.find((m) => m.name !== leader.name)!;
  const third = ['h1', 'h2', 'h3'].find((h) => !before.members.some((m) => m.host === h))!;
  const rw = (await runCli(['connect', SPREAD], cli)).stdout.trim();
  const acked: number[] = [];
  let failedAfterCrash = 0;
  let crashedAt = 0;
  let resumedAt = 0;
  // Only a write that starts after the crash proves the resumption: the old leader's processes are dead by then.
  const writer = (async () => {
    for (let id = 2; ; id++) {
      const startedAfterCrash = crashedAt > 0;
      const r = await psqlAt(rw, `insert into spread values (${id}) returning id`);
      if (r.ok) {
        acked.push(id);
        if (startedAfterCrash && !resumedAt) resumedAt = Date.now();
        if (resumedAt && Date.now() - resumedAt > 2000) return;
      } else if (startedAfterCrash) {
        failedAfterCrash++;
      }
      if (crashedAt && Date.now() - crashedAt > 120_000) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // Writes go to the leader through the front door before the crash.
  for (let i = 0; i < 100 && acked.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
  crashedAt = Date.now();
  simHosts('crash', String(k));
  // Should an assertion fail before the host is revived below, the tests after this one still get their three hosts.
  let revived = false;
  t.after(async () => {
    if (revived) return;
    simHosts('revive', String(k));
    await runCli(['dev', 'hosts', 'up', '3'], cli);
  });
  await writer;
  assert.ok(resumedAt > 0, `writes resumed within 120 s of the crash (${failedAfterCrash} failed attempts)`);
  t.diagnostic(`writes resumed ${((resumedAt - crashedAt) / 1000).toFixed(1)} s after ${lostHost} crashed (fast profile; ${failedAfterCrash} attempts failed meanwhile)`);
  const s = await status(SPREAD);
  assert.deepEqual(s.unreachableHosts, [lostHost]);
  assert.equal(s.leader, survivor.name, 'the surviving member leads');
  // Every acknowledged row is there (synchronous mode: the promoted standby had them all).
  const rows = await psqlAt(rw, 'select id from spread order by id');
  const have = new Set(rows.out.split('\n').map(Number));
  assert.deepEqual(acked.filter((id) => !have.has(id)), [], 'acknowledged rows lost');

  // 15 s after the loss (--replace-after) the watch re-creates the lost member on the third host, with a front door there.
  const replaced = await statusUntil(SPREAD, (x) => x.members.some((m) => m.host === third && /^(replica|sync_standby)$/.test(m.role) && m.state === 'running'), 180);
  const fresh = replaced.members.find((m) => m.host === third);
  assert.ok(fresh, `a member re-created on ${third}: ${JSON.stringify(replaced.members.map((m) => [m.name, m.host, m.role]))}`);
  t.diagnostic(`${leader.name} re-created as ${fresh.name} on ${third} ${((Date.now() - crashedAt) / 1000).toFixed(0)} s after the crash`);
  // The front door there comes once the member is in service (the same workflow, its last step).
  const kt = Number(third.slice(1));
  // Running, not only created: connect names the front doors whose HAProxy runs.
  let doorThere = await clusterContainersOn(kt, SPREAD, { running: true });
  for (let i = 0; i < 120 && !['haproxy', 'pgbouncer-ro', 'pgbouncer-rw'].every((n) => doorThere.includes(n)); i++) {
    await new Promise((r) => setTimeout(r, 500));
    doorThere = await clusterContainersOn(kt, SPREAD, { running: true });
  }
  assert.ok(['haproxy', 'pgbouncer-ro', 'pgbouncer-rw'].every((n) => doorThere.includes(n)), `a front door on ${third}: ${doorThere}`);
  const frontNow = (await runCli(['connect', SPREAD], cli)).stdout.trim();
  assert.ok(frontNow.includes(`10.77.0.1${third.slice(1)}:`), `connect names the new front door on ${third}: ${frontNow}`);
  const wrote = await psqlAt(frontNow, 'insert into spread values (50000) returning id');
  assert.ok(wrote.ok, wrote.out);
  // A delete now would leave the lost host's containers behind: refused, nothing changed.
  const refused = await runCli(['cluster', 'delete', SPREAD, '--yes'], cli);
  assert.equal(refused.code, 2, refused.stderr + refused.stdout);
  assert.match(refused.stderr, new RegExp(`host ${lostHost} does not answer: ${SPREAD}'s containers there cannot be removed`));
  assert.equal((await status(SPREAD)).members.length, 2, 'the cluster is untouched');

  // The host comes back (its engine restarts its containers) and its worker with it (`dev hosts up`):
  // the replaced member there is removed with its front door, and never leads meanwhile.
  simHosts('revive', String(k));
  revived = true;
  const workers = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(workers.code, 0, workers.stderr);
  let fencedOn: string[] = [];
  for (let i = 0; i < 120; i++) {
    const now = await status(SPREAD);
    assert.notEqual(now.leader, leader.name, 'the old leader never leads again');
    fencedOn = await clusterContainersOn(k, SPREAD);
    if (now.unreachableHosts.length === 0 && fencedOn.every((n) => n.startsWith('etcd-'))) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.equal(fencedOn.length, 1, `only its etcd member is left on ${lostHost}: ${fencedOn}`);
  assert.match(fencedOn[0], /^etcd-\d$/);
  const after = await status(SPREAD);
  assert.deepEqual(after.members.map((m) => m.name).sort(), [survivor.name, fresh.name].sort());
  const events = await runCli(['cluster', 'events', SPREAD], cli);
  assert.match(events.stdout, /host-replace/);
  assert.match(events.stdout, /member-fenced/);
  const write = await psqlAt((await runCli(['connect', SPREAD], cli)).stdout.trim(), 'insert into spread values (100000) returning id');
  assert.ok(write.ok, write.out);
});

test('after the leader moved to another host, backups and WAL archiving carry on there: a second backup, the new timeline\'s WAL in S3', async () => {
  const s = await status(SPREAD);
  const ran = await runCli(['backup', 'run', SPREAD], cli);
  assert.equal(ran.code, 0, ran.stderr + ran.stdout);
  const list = await backupList(SPREAD);
  assert.equal(list.backups.length, 2, JSON.stringify(list.backups.map((b) => b.label)));
  // The Web UI's view of the step: scheduled on the queue of the worker that owns the new leader's host.
  const leaderHost = s.members.find((m) => m.name === s.leader)?.host;
  const runs = [];
  for await (const w of env.client.workflow.list({ query: "WorkflowType = 'backup'" })) if (w.workflowId.startsWith(`backup:${SPREAD}:`)) runs.push(w);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const history = await env.client.workflow.getHandle(runs[runs.length - 1].workflowId).fetchHistory();
  const queues = (history.events ?? []).flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    return a?.activityType?.name === 'runBackup' ? [a.taskQueue?.name] : [];
  });
  assert.deepEqual(queues, [hostTaskQueue(TASK_QUEUE, leaderHost!)], `runBackup's task queue (leader ${s.leader} on ${leaderHost})`);
  // The promotion began a new timeline; its WAL reached the bucket from the new leader's host.
  assert.ok(timelineOf(list.archiveMax) > timelineBeforeCrash, `WAL of a timeline after ${timelineBeforeCrash} archived by ${s.leader} on ${s.members.find((m) => m.name === s.leader)?.host}: ${list.archiveMax}`);
});

test('host drain of the leader\'s host under a writer: a new member elsewhere, a switchover, the old member, front door and etcd member gone; writes fail only during the switchover', async (t) => {
  const before = await status(SPREAD);
  const leader = before.members.find((m) => m.name === before.leader)!;
  const drained = leader.host;
  const kd = Number(drained.slice(1));
  const rw = (await runCli(['connect', SPREAD], cli)).stdout.trim();
  const failures: number[] = [];
  let writes = 0;
  let stop = false;
  const writer = (async () => {
    for (let id = 200_000; !stop; id++) {
      const r = await psqlAt(rw, `insert into spread values (${id}) returning id`);
      if (r.ok) writes++;
      else failures.push(Date.now());
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  const drain = await runCli(['host', 'drain', drained], cli);
  stop = true;
  await writer;
  assert.equal(drain.code, 0, drain.stderr + drain.stdout);
  assert.match(drain.stdout, new RegExp(`leader ${leader.name} → `));
  // Writes failed only in one window: the switchover's (a fast-profile switchover takes seconds).
  const window = failures.length > 0 ? (failures[failures.length - 1] - failures[0]) / 1000 : 0;
  t.diagnostic(`drain of ${drained}: ${writes} writes, ${failures.length} failed within ${window.toFixed(1)} s`);
  assert.ok(window <= 15, `failed writes spread over ${window.toFixed(1)} s: more than one switchover's downtime`);
  // The host ends empty; the cluster keeps two Postgres members and three etcd members elsewhere.
  assert.deepEqual(await clusterContainersOn(kd, SPREAD), [], `nothing of ${SPREAD} left on ${drained}`);
  const after = await status(SPREAD);
  assert.equal(after.members.length, 2);
  assert.ok(after.members.every((m) => m.host !== drained && m.state === 'running'), JSON.stringify(after.members));
  assert.ok(after.leader && after.leader !== leader.name);
  const etcd = (await Promise.all([1, 2, 3].map((k) => clusterContainersOn(k, SPREAD)))).flat().filter((n) => n.startsWith('etcd-'));
  assert.equal(etcd.length, 3, `three etcd members: ${etcd}`);
  const write = await psqlAt((await runCli(['connect', SPREAD], cli)).stdout.trim(), 'insert into spread values (300000) returning id');
  assert.ok(write.ok, write.out);
});

test('replica add with its host\'s worker SIGKILLed mid-way: the restarted worker finishes it, exactly one new member, in service behind every front door; then replica remove takes it out of all of them', async (t) => {
  const names = (await status(SPREAD)).members.map((m) => m.name);
  const adding = runCli(['replica', 'add', SPREAD], cli);
  // The new member's container appears on its host: its worker is in the middle of the add.
  let at: number | undefined;
  for (let i = 0; i < 600 && at === undefined; i++) {
    for (const k of [1, 2, 3]) {
      if ((await clusterContainersOn(k, SPREAD)).some((n) => n.startsWith('pg-') && !names.includes(n))) at = k;
    }
    if (at === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(at !== undefined, 'the new member\'s container appeared on a host');
  const pid = Number(fs.readFileSync(path.join(home.run, `worker-h${at}.pid`), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  t.diagnostic(`SIGKILLed the worker of h${at} (pid ${pid}) once the new member's container was there`);
  await new Promise((r) => setTimeout(r, 3000));
  // The host's worker starts again, as a service manager would restart it.
  const workers = await runCli(['dev', 'hosts', 'up', '3'], cli);
  assert.equal(workers.code, 0, workers.stderr);
  const added = await adding;
  assert.equal(added.code, 0, added.stderr + added.stdout);
  const s = await status(SPREAD);
  assert.equal(s.members.length, names.length + 1, `exactly one new member: ${JSON.stringify(s.members.map((m) => m.name))}`);
  const pgEverywhere = (await Promise.all([1, 2, 3].map((k) => clusterContainersOn(k, SPREAD)))).flat().filter((n) => n.startsWith('pg-'));
  assert.equal(pgEverywhere.length, names.length + 1, `exactly one new Postgres container across the hosts: ${pgEverywhere}`);
  const fresh = s.members.find((m) => !names.includes(m.name));
  assert.ok(fresh && /^h[123]$/.test(fresh.host), `a new member on an added host: ${JSON.stringify(s.members)}`);
  const name = fresh.name;
  const k = Number(fresh.host.slice(1));
  assert.ok((await clusterContainersOn(k, SPREAD)).includes(name), `docker ps on ${fresh.host} shows ${name}`);
  // Each front door's HAProxy has it UP in ro (its stats, as Prometheus would scrape them).
  assert.ok(s.endpoints);
  for (const address of s.endpoints.hosts) {
    const csv = await (await fetch(`http://${address}:${new URL(s.endpoints.stats.url).port}/;csv`)).text();
    const row = csv.split('\n').find((l) => l.startsWith(`ro,${name},`));
    assert.match(row ?? '', /,UP/, `${name} in ro at ${address}: ${row}`);
  }
  // And out again: gone from its host, its volume too, and from every front door.
  const removed = await runCli(['replica', 'remove', SPREAD, name], cli);
  assert.equal(removed.code, 0, removed.stderr + removed.stdout);
  assert.ok(!(await clusterContainersOn(k, SPREAD)).includes(name));
  assert.deepEqual(((await engineOf(k).listVolumes({ filters: { label: [`dbaas.member=${name}`, `dbaas.cluster=${SPREAD}`] } })).Volumes ?? []).map((v) => v.Name), []);
  for (const address of s.endpoints.hosts) {
    const csv = await (await fetch(`http://${address}:${new URL(s.endpoints.stats.url).port}/;csv`)).text();
    assert.ok(!csv.includes(`${name},`), `${name} out of HAProxy at ${address}`);
  }
});

test('delete of a cluster across hosts leaves nothing on any engine; its backups, with the last WAL, stay in S3', async () => {
  const deleted = await runCli(['cluster', 'delete', SPREAD, '--yes'], cli);
  assert.equal(deleted.code, 0, deleted.stderr + deleted.stdout);
  const kept = JSON.parse((await runCli(['cluster', 'list', '--deleted', '--json'], cli)).stdout) as { name: string; keptBackups: boolean; backups: number }[];
  assert.deepEqual(kept.filter((c) => c.name === SPREAD).map((c) => [c.keptBackups, c.backups]), [[true, 2]]);
  for (const k of [1, 2, 3]) {
    const e = engineOf(k);
    const f = { label: [`dbaas.cluster=${SPREAD}`] };
    assert.deepEqual(await clusterContainersOn(k, SPREAD), [], `containers on h${k}`);
    assert.deepEqual((await e.listVolumes({ filters: f })).Volumes ?? [], [], `volumes on h${k}`);
    assert.deepEqual(await e.listNetworks({ filters: f }), [], `networks on h${k}`);
  }
});

test('host remove refuses a host that runs a member, and removes it once it runs nothing', async () => {
  const h2 = (await hostList()).find((v) => v.name === 'h2');
  assert.ok(h2);
  const engine = new Docker({ socketPath: h2.docker.replace('unix://', '') });
  const cluster = testClusterName('hosts');
  // What a member looks like to the inventory: a container labelled with a cluster and a role.
  const c = await engine.createContainer({ name: `dbaas-${cluster}-etcd-0`, Image: SLIM, Cmd: ['sleep', '600'], Labels: labels(cluster, 'etcd', 'etcd-0') });
  await c.start();
  try {
    assert.deepEqual((await hostList()).find((v) => v.name === 'h2')?.members, { [cluster]: 1 });
    const refused = await runCli(['host', 'remove', 'h2'], cli);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`host h2 runs members of ${cluster} \\(1\\)`));
  } finally {
    await c.remove({ force: true });
  }
  const removed = await runCli(['host', 'remove', 'h2'], cli);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual((await hostList()).map((v) => v.name), ['local', 'h1', 'h3']);
});

test('dev hosts down: no host left in the list, no namespace, no state directory', async () => {
  const down = await runCli(['dev', 'hosts', 'down'], cli);
  assert.equal(down.code, 0, down.stderr + down.stdout);
  assert.deepEqual((await hostList()).map((v) => v.name), ['local']);
  assert.deepEqual(netns(), []);
  assert.equal(fs.existsSync('/var/lib/dbaas-sim/h1'), false);
  assert.equal(mainSwarm(), 'inactive');
});
