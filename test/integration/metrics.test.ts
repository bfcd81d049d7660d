/**
 * The exporters on one real cluster (a leader and a replica, fast profile, no backups): the
 * metrics container beside HAProxy answers `/probe?target=pg-N` with pg_up 1 for every member and
 * `target=pgbouncer-rw|ro` with the poolers' metrics, on its port published on 127.0.0.1; the
 * monitor role has pg_monitor only; the worker's facts endpoint lists the cluster; no password
 * shows in `docker inspect` of the metrics container, its processes or any metrics output; a
 * delete removes the container with the rest.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { localInventory } from '../../activities/hosts/inventory';
import { execIn } from '../../activities/docker';
import { readClusterSecrets } from '../../activities/secrets';
import { psqlOn } from '../../activities/upgrade/psql';
import { METRICS_MEMBER, METRICS_PORT } from '../../common/render/metrics';
import { containerName } from '../../common/resource-names';
import { startFactsServer } from '../../worker/facts';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';

const docker = new Docker();
const S = testClusterName('metrics');
const MEMBERS = ['pg-0', 'pg-1'];
const METRICS = containerName(S, METRICS_MEMBER);
let it: IntegrationEnv;
/** Every metrics body fetched here, checked for passwords at the end. */
const outputs: string[] = [];

before(async () => {
  it = await startIntegration(docker);
  await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
});

after(async () => {
  await it?.stop([S]);
});

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
  const status = await runCli(['cluster', 'status', S, '--json'], childEnv(it.env, it.paths));
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
  const secrets = Object.values(readClusterSecrets(it.paths, S)).filter((v): v is string => typeof v === 'string' && v.length > 0);
  assert.ok(secrets.length >= 5);
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

test('cluster delete removes the metrics container with the rest', async () => {
  const r = await runCli(['cluster', 'delete', S, '--yes'], childEnv(it.env, it.paths));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(await localInventory(docker).members(S, { kind: 'metrics' }), []);
});
