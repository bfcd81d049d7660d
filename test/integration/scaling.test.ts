/**
 * Scaling a running cluster without dropping a query: add two read-only replicas and remove one
 * while clients query through ro (one long-lived connection, one reconnecting per query) and rw.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { containerName } from '../../common/resource-names';
import type { Paths } from '../../common/paths';
import { execIn } from '../../activities/docker';
import { PGBOUNCER_DIR } from '../../common/render/pgbouncer';
import type { ClusterStatus } from '../../client/cluster-info';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv, memberIp } from '../helpers/integration';
import { startQueryLoop, type QueryLoop } from '../helpers/query-loop';

let env: TestWorkflowEnvironment;
let paths: Paths;
let it: IntegrationEnv;
const docker = new Docker();
const S = testClusterName('scale');
const loops: Record<string, QueryLoop> = {};

before(async () => {
  it = await startIntegration(docker);
  ({ env, paths } = it);
  await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false });
});

after(async () => {
  for (const l of Object.values(loops)) await l.stop();
  await it?.stop([S]);
});

/** Queries each loop has answered so far, by loop name. */
const okCounts = (): Record<string, number> => Object.fromEntries(Object.entries(loops).map(([name, l]) => [name, l.stats.ok]));

/** Every loop answered more queries than at `before` (it kept querying through the change, not only around it). */
function assertAllGrew(before: Record<string, number>, change: string): void {
  for (const [name, n] of Object.entries(okCounts())) assert.ok(n > before[name], `${name} kept querying across ${change} (${before[name]} → ${n})`);
}

async function clusterStatus(): Promise<ClusterStatus> {
  const r = await runCli(['cluster', 'status', S, '--json'], childEnv(env, paths));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus;
}

async function uri(ro: boolean): Promise<string> {
  const r = await runCli(['connect', S, ...(ro ? ['--ro'] : [])], childEnv(env, paths));
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('add two read-only replicas and remove one while clients query: zero failed queries', async () => {
  const e = childEnv(env, paths);
  loops.roLong = startQueryLoop(await uri(true), { reconnect: false, intervalMs: 20 });
  loops.roShort = startQueryLoop(await uri(true), { reconnect: true, intervalMs: 30 });
  loops.rwLong = startQueryLoop(await uri(false), { reconnect: false, intervalMs: 20 });
  await new Promise((r) => setTimeout(r, 1000));

  const beforeAdd = okCounts();
  const added = await runCli(['replica', 'add', S, '--count', '2', '--read-only'], e);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  assertAllGrew(beforeAdd, 'the add');
  assert.match(added.stdout, /pg-2 added to .* \(read-only: never promoted\)/);
  assert.match(added.stdout, /pg-3 added to /);

  const status = await clusterStatus();
  assert.deepEqual(status.members.map((m) => [m.name, m.nofailover, m.state]), [
    ['pg-0', false, 'running'], ['pg-1', false, 'running'], ['pg-2', true, 'running'], ['pg-3', true, 'running'],
  ]);
  // The reconnecting client is balanced onto the new members by the ro port.
  const ips = await Promise.all(['pg-1', 'pg-2', 'pg-3'].map((m) => memberIp(docker, S, m)));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !ips.every((ip) => ip && loops.roShort.stats.servers.has(ip))) await new Promise((r) => setTimeout(r, 200));
  for (const [i, ip] of ips.entries()) assert.ok(ip && loops.roShort.stats.servers.has(ip), `pg-${i + 1} (${ip}) answered through ro`);

  const beforeRemove = okCounts();
  const removed = await runCli(['replica', 'remove', S, 'pg-3'], e);
  assert.equal(removed.code, 0, removed.stderr + removed.stdout);
  assertAllGrew(beforeRemove, 'the remove');
  const left = await docker.listContainers({ all: true, filters: { label: [`dbaas.cluster=${S}`, 'dbaas.member=pg-3'] } });
  assert.equal(left.length, 0, 'pg-3 container removed');
  const vols = await docker.listVolumes({ filters: { label: [`dbaas.cluster=${S}`, 'dbaas.member=pg-3'] } });
  assert.equal((vols.Volumes ?? []).length, 0, 'pg-3 volume removed');
  await new Promise((r) => setTimeout(r, 1000));

  for (const [name, loop] of Object.entries(loops)) {
    const s = await loop.stop();
    console.log(`${name}: ${s.ok} queries ok, ${s.failed} failed, servers ${[...s.servers].join(' ')}`);
    assert.equal(s.failed, 0, `${name} failed queries: ${s.errors.join('; ')}`);
    assert.ok(s.ok > 50, `${name} ran queries throughout`);
  }
  assert.equal(loops.roLong.stats.servers.size, 1, 'the long-lived ro session stayed on one server');
  assert.ok(!loops.rwLong.stats.servers.has(ips[0] ?? ''), 'rw never reached a replica');
});

test('replica remove refuses the leader, the last failover candidate and unknown members (exit 2, no change)', async () => {
  const e = childEnv(env, paths);
  // The leader now (not the one at create: the watch or a failover may have moved it), and the
  // only other member able to take over (pg-2 is read-only).
  const leader = (await clusterStatus()).leader;
  assert.ok(leader === 'pg-0' || leader === 'pg-1', `a leader among pg-0, pg-1 (${leader})`);
  const candidate = leader === 'pg-0' ? 'pg-1' : 'pg-0';
  const before = await docker.listContainers({ filters: { label: [`dbaas.cluster=${S}`] } });
  for (const [member, re] of [[leader, /is the leader/], [candidate, /last member able to take over/], ['pg-9', /no member pg-9/]] as const) {
    const r = await runCli(['replica', 'remove', S, member], e);
    assert.equal(r.code, 2, `${member}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const after = await docker.listContainers({ filters: { label: [`dbaas.cluster=${S}`] } });
  assert.equal(after.length, before.length);
  assert.equal((await clusterStatus()).leader, leader, 'the leader is unchanged');
});

test('replica scale --read-only converges and is idempotent', async () => {
  const e = childEnv(env, paths);
  const down = await runCli(['replica', 'scale', S, '--read-only', '0'], e);
  assert.equal(down.code, 0, down.stderr + down.stdout);
  assert.match(down.stdout, /0 read-only members \[\] \(-pg-2\)/);
  const again = await runCli(['replica', 'scale', S, '--read-only', '0'], e);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(no change\)/);
  const pg = await docker.listContainers({ all: true, filters: { label: [`dbaas.cluster=${S}`, 'dbaas.role=postgres'] } });
  assert.deepEqual(pg.map((c) => c.Labels['dbaas.member']).sort(), ['pg-0', 'pg-1']);
  const up = await runCli(['replica', 'scale', S, '--read-only', '1'], e);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /1 read-only members \[pg-2\] \(\+pg-2\)/);
});

test('300 concurrent client connections through the pooled rw endpoint succeed with max_connections = 100, within the pool size', async () => {
  const { Client } = await import('pg');
  const pooled = (await runCli(['connect', S, '--pooled'], childEnv(env, paths))).stdout.trim();
  const direct = await uri(false);
  const admin = new Client({ connectionString: direct });
  await admin.connect();
  const max = await admin.query<{ max_connections: string }>('show max_connections');
  assert.equal(max.rows[0].max_connections, '100');
  // PgBouncer's limit on server connections for one database and user, read from its running config.
  const pool = await pgbouncerPoolLimit();
  const clients = Array.from({ length: 300 }, () => new Client({ connectionString: pooled, connectionTimeoutMillis: 30_000 }));
  let peakServerConnections = 0;
  // Sessions that came, like this admin one, through HAProxy rw as the same user: the pooler's
  // server connections and this one (not Patroni's, not the pooler's auth_query user).
  const watch = setInterval(() => {
    admin.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where backend_type = 'client backend' and usename = current_user and client_addr = inet_client_addr()",
    )
      .then((r) => { peakServerConnections = Math.max(peakServerConnections, Number(r.rows[0].n)); }, () => undefined);
  }, 100);
  try {
    const results = await Promise.allSettled(clients.map(async (c) => {
      await c.connect();
      // Every client holds its connection while the others connect and query.
      const r = await c.query<{ ok: number }>('select 1 as ok from pg_sleep(0.5)');
      return r.rows[0].ok;
    }));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    console.log(`pooled rw: ${results.length - failed.length} of 300 clients ok, peak server connections ${peakServerConnections} ` +
      `(pool ${pool.size} + reserve ${pool.reserve} + this admin session)`);
    assert.equal(failed.length, 0, failed.slice(0, 3).map((f) => (f.reason as Error).message).join('; '));
    assert.ok(peakServerConnections > 1, `the pooler's server connections were seen (${peakServerConnections})`);
    assert.ok(peakServerConnections <= pool.size + pool.reserve + 1, `server connections stayed within the pool (${peakServerConnections})`);
  } finally {
    clearInterval(watch);
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await admin.end();
  }
});

test('cluster add-poolers gives a cluster without poolers its pooled endpoints, and changes nothing when run again', async () => {
  const e = childEnv(env, paths);
  // A cluster made before dbaas created poolers: no pgbouncer containers.
  for (const kind of ['rw', 'ro']) await docker.getContainer(containerName(S, `pgbouncer-${kind}`)).remove({ force: true });
  const first = await runCli(['cluster', 'add-poolers', S], e);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.match(first.stdout, /started pgbouncer-ro, pgbouncer-rw/);
  const { Client } = await import('pg');
  for (const flags of [['--pooled'], ['--pooled', '--ro']]) {
    const c = new Client({ connectionString: (await runCli(['connect', S, ...flags], e)).stdout.trim() });
    await c.connect();
    assert.equal((await c.query<{ ok: number }>('select 1 as ok')).rows[0].ok, 1);
    await c.end();
  }
  const ids = async () => (await Promise.all(['rw', 'ro'].map((k) => docker.getContainer(containerName(S, `pgbouncer-${k}`)).inspect()))).map((i) => i.Id);
  const before = await ids();
  const again = await runCli(['cluster', 'add-poolers', S], e);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  assert.match(again.stdout, /already there, verified/);
  assert.deepEqual(await ids(), before);
});

/** default_pool_size and reserve_pool_size of the running rw pooler (the reserve opens when clients wait). */
async function pgbouncerPoolLimit(): Promise<{ size: number; reserve: number }> {
  const r = await execIn(docker, containerName(S, 'pgbouncer-rw'), ['cat', `${PGBOUNCER_DIR}/pgbouncer.ini`]);
  assert.equal(r.exitCode, 0, r.output);
  const setting = (name: string): number => {
    const m = new RegExp(`^${name}\\s*=\\s*(\\d+)`, 'm').exec(r.output);
    assert.ok(m, `${name} in pgbouncer.ini`);
    return Number(m[1]);
  };
  return { size: setting('default_pool_size'), reserve: setting('reserve_pool_size') };
}
