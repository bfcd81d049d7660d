/**
 * Real Docker engine, real Temporal dev server, real etcd/Patroni/PostgreSQL/HAProxy:
 * two clusters side by side, rw write read back from a replica through ro, status, the CLI's
 * refusals, no secret in any history, and delete leaving nothing labelled with the cluster.
 */
import { after, before, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterPorts, ConnectionInfo, CreateClusterInput } from '../../common/spec';
import { haWorkflowIds, workflowIds } from '../../common/workflow-ids';
import type { Paths } from '../../common/paths';
import { clusterFootprint } from '../../activities/cluster';
import { stanzaServerOf } from '../../activities/repository-host/host';
import { readClusterSecrets } from '../../activities/secrets';
import { readBackupPassphrase } from '../../activities/backup-passphrase';
import { withClient } from '../../activities/sql';
import type { ClusterStatus } from '../../client/cluster-info';
import { childEnv, containersByMember, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';
import { historyText } from '../helpers/history';

let env: TestWorkflowEnvironment;
let paths: Paths;
let it: IntegrationEnv;
const docker = new Docker();
const A = testClusterName('a');
const B = testClusterName('b');
const infos = new Map<string, ConnectionInfo>();
let passwordsOfA: string[] = [];

before(async () => {
  it = await startIntegration(docker);
  ({ env, paths } = it);
});

after(async () => {
  await it?.stop([A, B]);
});

const createViaWorkflow = (input: CreateClusterInput): Promise<ConnectionInfo> => it.createCluster(input);

async function writeThenReadFromReplica(cluster: string, ports: ClusterPorts, value: string): Promise<{ inRecovery: boolean; found: boolean }> {
  await withClient(paths, cluster, ports.rw, async (c) => {
    await c.query('create table if not exists it_rows (v text primary key)');
    await c.query('insert into it_rows values ($1)', [value]);
  });
  // Replication is asynchronous: poll briefly until the replica has applied the row.
  for (let i = 0; i < 40; i++) {
    const r = await withClient(paths, cluster, ports.ro, async (c) => {
      const rec = await c.query<{ r: boolean }>('select pg_is_in_recovery() as r');
      const row = await c.query('select 1 from it_rows where v = $1', [value]).catch(() => ({ rowCount: 0 }));
      return { inRecovery: rec.rows[0].r, found: (row.rowCount ?? 0) > 0 };
    });
    if (r.found) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
  return { inRecovery: true, found: false };
}

test('two clusters side by side: 3 nodes (fast, sync) by workflow and 2 nodes (default) by the CLI, which attaches to a running create', async () => {
  const e = childEnv(env, paths);
  const detached = await runCli(['cluster', 'create', B, '--replicas', '1', '--detach'], e);
  assert.equal(detached.code, 0, detached.stderr);
  const [a, attached] = await Promise.all([
    createViaWorkflow({ name: A, replicas: 2, sync: true, profile: 'fast', etcdMembers: 1, keepOnFailure: false }),
    // A second `create` of a cluster whose create is running follows it to the end.
    runCli(['cluster', 'create', B, '--replicas', '1'], e),
  ]);
  assert.equal(attached.code, 0, attached.stderr + attached.stdout);
  assert.match(attached.stdout, new RegExp(`cluster ${B} is being created; following workflow`));
  assert.match(attached.stdout, /read-only: +postgresql:\/\/app@127\.0\.0\.1:\d+\/app/);
  assert.doesNotMatch(attached.stdout, new RegExp(readClusterSecrets(paths, B).superuser), 'create prints no password');
  const b = await env.client.workflow.getHandle(workflowIds.createCluster(B)).result() as ConnectionInfo;
  infos.set(A, a);
  infos.set(B, b);
  assert.deepEqual(a.members, ['pg-0', 'pg-1', 'pg-2']);
  assert.deepEqual(b.members, ['pg-0', 'pg-1']);
  assert.equal(a.leader, 'pg-0');
  const used = [a.ports.rw, a.ports.ro, a.ports.stats, b.ports.rw, b.ports.ro, b.ports.stats];
  assert.equal(new Set(used).size, used.length, `ports collide: ${used.join(',')}`);
  const byMember = await containersByMember(docker, A);
  assert.deepEqual(Object.fromEntries([...byMember].sort()), { 'etcd-0': 1, haproxy: 1, metrics: 1, 'pg-0': 1, 'pg-1': 1, 'pg-2': 1, 'pgbouncer-ro': 1, 'pgbouncer-rw': 1 });
  passwordsOfA = [...Object.values(readClusterSecrets(paths, A)), readBackupPassphrase(paths, A) ?? ''];
});

test('a row written through rw is read back through ro from a replica (pg_is_in_recovery true)', async () => {
  for (const c of [A, B]) {
    const info = infos.get(c);
    assert.ok(info, 'cluster was created');
    const r = await writeThenReadFromReplica(c, info.ports, `row-of-${c}`);
    assert.deepEqual(r, { inRecovery: true, found: true }, c);
  }
  // The clusters are separate databases: A's row is not in B.
  const bInfo = infos.get(B);
  assert.ok(bInfo);
  const cross = await withClient(paths, B, bInfo.ports.rw, (c) => c.query('select 1 from it_rows where v = $1', [`row-of-${A}`]));
  assert.equal(cross.rowCount, 0);
});

test('host ports are published on 127.0.0.1 only', async () => {
  const cs = await docker.listContainers({ filters: { label: [`dbaas.cluster=${A}`] } });
  const published = cs.flatMap((c) => c.Ports.filter((p) => p.PublicPort));
  assert.ok(published.length >= 3);
  for (const p of published) assert.equal(p.IP, '127.0.0.1', JSON.stringify(p));
});

test('cluster status --json shows members, roles (one sync_standby with --sync), lag, timeline and endpoints', async () => {
  let s: ClusterStatus | undefined;
  // Patroni names the synchronous standby on its next HA loop after the replicas joined.
  for (let i = 0; i < 40; i++) {
    const r = await runCli(['cluster', 'status', A, '--json'], childEnv(env, paths));
    assert.equal(r.code, 0, r.stderr);
    s = JSON.parse(r.stdout) as ClusterStatus;
    if (s.members.some((m) => m.role === 'sync_standby') && s.members.every((m) => m.lag === null || m.lag === 0)) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.ok(s);
  assert.equal(s.leader, 'pg-0');
  assert.deepEqual(s.members.map((m) => [m.name, m.state, m.timeline]), [['pg-0', 'running', 1], ['pg-1', 'running', 1], ['pg-2', 'running', 1]]);
  assert.deepEqual([...s.members, ...s.etcd].map((m) => m.host), ['local', 'local', 'local', 'local'], 'one host: every member on this machine\'s engine');
  assert.deepEqual(s.members.map((m) => m.role).sort(), ['leader', 'replica', 'sync_standby']);
  assert.ok(s.members.slice(1).every((m) => m.lag === 0));
  assert.equal(s.endpoints?.rw.port, infos.get(A)?.ports.rw);
  assert.equal(s.endpoints?.ro.port, infos.get(A)?.ports.ro);
  assert.equal(s.backups, 'on', 'every member mounts the backup repository');
  const table = await runCli(['cluster', 'status', A], childEnv(env, paths));
  assert.match(table.stdout, /pg-0\s.*local.*leader.*running/);
  const list = await runCli(['cluster', 'list', '--json'], childEnv(env, paths));
  const names = (JSON.parse(list.stdout) as { name: string }[]).map((c) => c.name);
  assert.ok(names.includes(A) && names.includes(B));
});

test('connect prints a URI psql-style clients can use; --ro reaches a replica', async () => {
  const { Client } = await import('pg');
  for (const [flag, recovery] of [[[], false], [['--ro'], true]] as const) {
    const r = await runCli(['connect', A, ...flag], childEnv(env, paths));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^postgresql:\/\/app:[^@]+@127\.0\.0\.1:\d+\/app\?/);
    const c = new Client({ connectionString: r.stdout.trim() });
    await c.connect();
    const rec = await c.query<{ r: boolean }>('select pg_is_in_recovery() as r');
    await c.end();
    assert.equal(rec.rows[0].r, recovery);
  }
});

test('connect --member reaches that member directly; status lists each member\'s port', async () => {
  const { Client } = await import('pg');
  const status = JSON.parse((await runCli(['cluster', 'status', A, '--json'], childEnv(env, paths))).stdout) as ClusterStatus;
  const base = infos.get(A)?.ports.rw ?? 0;
  assert.deepEqual(status.members.map((m) => m.port), [base + 3, base + 4, base + 5]);
  for (const [member, recovery] of [['pg-0', false], ['pg-2', true]] as const) {
    const r = await runCli(['connect', A, '--member', member], childEnv(env, paths));
    assert.equal(r.code, 0, r.stderr);
    const c = new Client({ connectionString: r.stdout.trim() });
    await c.connect();
    const rec = await c.query<{ r: boolean; host: string }>('select pg_is_in_recovery() as r');
    await c.end();
    assert.equal(rec.rows[0].r, recovery, member);
  }
  const unknown = await runCli(['connect', A, '--member', 'pg-7'], childEnv(env, paths));
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no member pg-7/);
});

test('bad input: one clear line, exit 2, nothing created', async () => {
  const e = childEnv(env, paths);
  const cases: [string[], RegExp][] = [
    [['cluster', 'create', A], /already exists/],
    [['cluster', 'create', 'Bad_Name'], /DNS label/],
    [['cluster', 'create', 'x'.repeat(31)], /1-30 characters/],
    [['cluster', 'create', 't-new', '--replicas', '9'], /--replicas must be an integer from 0 to 8/],
    [['cluster', 'create', 't-new', '--profile', 'slow'], /--profile/],
    [['cluster', 'create', 't-new', '--etcd', '2'], /--etcd must be 1 or 3/],
    [['cluster', 'status', 't-nope'], /no cluster named t-nope/],
    [['cluster', 'delete', 't-nope'], /no cluster named t-nope/],
    // No terminal to type the name on (the test's CLI has none): refused without --yes.
    [['cluster', 'delete', A], new RegExp(`^dbaas: delete cluster ${A} needs --yes when there is no terminal to confirm on; nothing was changed$`, 'm')],
    [['connect', 't-nope'], /no cluster named t-nope/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args, e);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line expected: ${r.stderr}`);
  }
  for (const c of ['t-new', 't-nope']) assert.deepEqual(await clusterFootprint(localInventory(docker), c), { containers: 0, networks: 0, volumes: 0 });
  assert.ok((await clusterFootprint(localInventory(docker), A)).containers > 0, `${A} is still there after the refused delete`);
  // Refusals start no workflow: the refused create of t-new left no workflow behind.
  const started: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${workflowIds.createCluster('t-new')}"` })) started.push(wf.workflowId);
  assert.deepEqual(started, []);
});

test('Temporal unreachable: the CLI names the address it tried and how to start it', async () => {
  // Neither the HTTP API (the file's server's, inherited) nor gRPC at the address given.
  const r = await runCli(['cluster', 'create', 't-new'], { ...childEnv(env, paths), TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_HTTP_ADDRESS: '127.0.0.1:2' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
});

test('delete (CLI) keeps only the backups (on the repository host); --purge-backups leaves nothing; neither is listed as a cluster', async () => {
  const e = childEnv(env, paths);
  const [ra, rb] = await Promise.all([runCli(['cluster', 'delete', A, '--yes'], e), runCli(['cluster', 'delete', B, '--purge-backups', '--yes'], e)]);
  assert.equal(ra.code, 0, ra.stderr + ra.stdout);
  assert.equal(rb.code, 0, rb.stderr + rb.stdout);
  assert.match(ra.stdout, new RegExp(`backups kept \\(\`dbaas restore ${A} --into NEW --latest\` restores them`));
  // Their backups were on the repository host: A's stanza stays there, B's is gone.
  assert.deepEqual(await clusterFootprint(localInventory(docker), A), { containers: 0, networks: 0, volumes: 0 });
  assert.ok(stanzaServerOf(paths, A), `${A}'s stanza is kept on the repository host`);
  assert.deepEqual(await clusterFootprint(localInventory(docker), B), { containers: 0, networks: 0, volumes: 0 });
  assert.equal(stanzaServerOf(paths, B), undefined, `${B}'s stanza is purged`);
  const listed = (JSON.parse((await runCli(['cluster', 'list', '--json'], e)).stdout) as { name: string }[]).map((c) => c.name);
  assert.ok(!listed.includes(A) && !listed.includes(B), 'deleted clusters are not listed as clusters');
  const deleted = JSON.parse((await runCli(['cluster', 'list', '--deleted', '--json'], e)).stdout) as { name: string; keptBackups: boolean; deletedAt: string | null }[];
  assert.deepEqual(deleted.filter((d) => d.name === A || d.name === B).map((d) => [d.name, d.keptBackups, d.deletedAt !== null]), [[A, true, true]]);
  const again = await runCli(['cluster', 'delete', A, '--yes'], e);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, new RegExp(`cluster ${A} was deleted; its backups are kept .*; nothing to delete`));
  const gone = await runCli(['cluster', 'delete', B, '--yes'], e);
  assert.equal(gone.code, 2, 'deleting a purged cluster is "no cluster named"');
  assert.match(gone.stderr, new RegExp(`no cluster named ${B}`));
});

test('no password of the cluster occurs in any workflow history, input, output or query result', async () => {
  // superuser, replication, rewind, pooler, Patroni REST API, etcd root, etcd patroni, monitor and app passwords, and the backup passphrase
  assert.equal(passwordsOfA.length, 10);
  assert.ok(passwordsOfA.every((p) => p.length >= 20), 'every secret was read');
  const runs: { id: string; runId: string }[] = [];
  for await (const wf of env.client.workflow.list({ query: `ClusterName = "${A}"` })) runs.push({ id: wf.workflowId, runId: wf.runId });
  const ids = runs.map((r) => r.id);
  // The lease workflow ran twice: it ends when idle, after the create and again after the delete.
  const lease = `cluster-lease:${A}`;
  assert.deepEqual(ids.sort(), [lease, lease, workflowIds.createCluster(A), workflowIds.deleteCluster(A), haWorkflowIds.clusterWatch(A)].sort());
  for (const { id, runId } of runs) {
    const handle = env.client.workflow.getHandle(id, runId);
    const text = await historyText(handle);
    assert.ok(text.length > (id === lease ? 200 : 1000), 'history was read');
    const progress = JSON.stringify(await handle.query(id === lease ? 'leaseState' : 'progress')) +
      (id === haWorkflowIds.clusterWatch(A) ? JSON.stringify(await handle.query('events')) : '');
    const describe = JSON.stringify(await handle.describe(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    for (const p of passwordsOfA) {
      assert.ok(!text.includes(p), `password found in history of ${id}`);
      assert.ok(!progress.includes(p) && !describe.includes(p));
    }
  }
});
