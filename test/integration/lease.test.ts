/**
 * The per-cluster operation lease on a real cluster, through the CLI as a user runs it: a replica
 * removal and a switchover to the same member started together, in both orders, never remove a
 * leader and change the timeline only for the switchover, with no acknowledged row lost; two
 * `replica add` at once add two members; `backup run` during a switchover makes one backup;
 * `--no-wait` and `cluster status` say who holds the cluster; `cluster delete` during `replica
 * add` waits for it and leaves nothing, also a minute later.
 */
import { after, before, test } from 'node:test';
import { localInventory } from '../../activities/hosts/inventory';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { ClusterStatus } from '../../client/cluster-info';
import type { StanzaSummary } from '../../common/backup';
import type { LeaseView } from '../../common/lease';
import { clusterFootprint } from '../../activities/cluster';
import { SEARCH_ATTRIBUTE_CLUSTER } from '../../common/search-attributes';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type CliResult, type IntegrationEnv } from '../helpers/integration';
import { createWriterTable, startWriter } from '../helpers/writer';

let it: IntegrationEnv;
const docker = new Docker();
const L = testClusterName('lease');

before(async () => {
  it = await startIntegration(docker);
  // Four members: after pg-1 goes, pg-2 is not the last that could take over (that refusal would hide the lease's).
  await it.createCluster({ name: L, replicas: 3, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false });
});

after(async () => {
  await it?.stop([L]);
});

const cli = (...args: string[]): Promise<CliResult> => runCli(args, childEnv(it.env, it.paths));

type Status = ClusterStatus & LeaseView;
async function status(): Promise<Status> {
  const r = await cli('cluster', 'status', L, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}
const leaderTimeline = (s: Status): number => s.members.find((m) => m.name === s.leader)?.timeline ?? -1;

/** Resolves once an operation of this kind holds the cluster's lease (as `cluster status` shows it). */
async function heldBy(operation: string, timeoutMs = 60_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status();
    if (s.operation?.operation === operation) return s;
    if (Date.now() > deadline) throw new Error(`no ${operation} took the lease of ${L} within ${timeoutMs} ms (operation: ${JSON.stringify(s.operation)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withWriter<T>(table: string, body: () => Promise<T>): Promise<T> {
  const uri = (await cli('connect', L)).stdout.trim();
  await createWriterTable(uri, table);
  const w = startWriter({ connectionString: uri, table, pauseMs: 20 });
  try {
    return await body();
  } finally {
    const stats = await w.stop();
    const rows = await queryCluster<{ id: string }>(childEnv(it.env, it.paths), L, `select id from ${table}`);
    const have = new Set(rows.map((r) => Number(r.id)));
    const lost = stats.acked.filter((id) => !have.has(id));
    assert.ok(stats.acked.length > 20, `the writer kept writing (${stats.acked.length} acknowledged)`);
    assert.deepEqual(lost, [], `acknowledged rows lost: ${lost.slice(0, 10).join(', ')}`);
  }
}

test('replica remove pg-1, then switchover --to pg-1 while it runs: the switchover waits, then is refused; the timeline stays', async () => {
  await withWriter('lease_a', async () => {
    const before = await status();
    assert.equal(before.leader, 'pg-0');
    const remove = cli('replica', 'remove', L, 'pg-1');
    await heldBy('remove-replica');
    const sw = await cli('switchover', L, '--to', 'pg-1');
    const removed = await remove;
    assert.equal(removed.code, 0, removed.stderr + removed.stdout);
    // The CLI's own check may already see pg-1 gone; either way it is refused, never run.
    assert.equal(sw.code, 2, sw.stderr + sw.stdout);
    assert.match(sw.stderr, /no member pg-1|pg-1 is (not running|not streaming)/);
    if (/starting the switchover/.test(sw.stdout)) assert.match(sw.stdout, new RegExp(`waiting for remove-replica \\(remove-replica:${L}:pg-1\\) on ${L}`));
    const after = await status();
    assert.equal(after.leader, 'pg-0');
    assert.equal(leaderTimeline(after), leaderTimeline(before), 'no timeline change');
    assert.deepEqual(after.members.map((m) => m.name), ['pg-0', 'pg-2', 'pg-3']);
  });
});

test('switchover --to pg-2, then replica remove pg-2 while it runs: the removal is refused, pg-2 leads; one timeline change', async () => {
  await withWriter('lease_b', async () => {
    const before = await status();
    const sw = cli('switchover', L, '--to', 'pg-2');
    await heldBy('switchover');
    const remove = await cli('replica', 'remove', L, 'pg-2');
    const switched = await sw;
    assert.equal(switched.code, 0, switched.stderr + switched.stdout);
    assert.equal(remove.code, 2, remove.stderr + remove.stdout);
    assert.match(remove.stderr, /pg-2 is the leader/);
    const after = await status();
    assert.equal(after.leader, 'pg-2');
    assert.equal(leaderTimeline(after), leaderTimeline(before) + 1, 'exactly the switchover\'s timeline change');
    assert.ok(after.members.some((m) => m.name === 'pg-2' && m.container.state === 'running'));
  });
});

test('two replica add at once: exactly two new members', async () => {
  const [a, b] = await Promise.all([cli('replica', 'add', L), cli('replica', 'add', L)]);
  assert.equal(a.code, 0, a.stderr + a.stdout);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const s = await status();
  assert.deepEqual(s.members.map((m) => m.name).sort(), ['pg-0', 'pg-2', 'pg-3', 'pg-4', 'pg-5']);
  assert.ok(s.members.every((m) => m.container.state === 'running'));
});

test('backup run during a switchover: one backup; status and --no-wait name the holder and the queue', async () => {
  const backups = async (): Promise<number> => (JSON.parse((await cli('backup', 'list', L, '--json')).stdout) as StanzaSummary).backups.length;
  const before = await backups();
  const sw = cli('switchover', L, '--to', 'pg-0');
  const held = await heldBy('switchover');
  const line = `waiting for switchover (${held.operation!.workflowId}) on ${L}`;
  const backup = cli('backup', 'run', L);
  const queued = await (async () => {
    for (let i = 0; i < 100; i++) {
      const s = await status();
      if (s.queued.some((q) => q.operation === 'backup')) return s;
      if (s.operation?.operation !== 'switchover') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  })();
  const noWait = await cli('cluster', 'set-sync', L, 'off', '--no-wait');
  const [switched, backedUp] = await Promise.all([sw, backup]);
  assert.equal(switched.code, 0, switched.stderr + switched.stdout);
  assert.equal(backedUp.code, 0, backedUp.stderr + backedUp.stdout);
  // A switchover can end before the backup's CLI has started (both take about a second): the
  // waiting line is owed only when the backup was seen queued behind it.
  if (queued) {
    assert.equal(queued.operation?.operation, 'switchover');
    assert.match(backedUp.stdout, new RegExp(line.replace(/[()]/g, '\\$&')));
  }
  // Refused with the holder's line while the switchover held the lease (or, if it had ended, run).
  if (noWait.code !== 0) {
    assert.equal(noWait.code, 1, noWait.stderr);
    assert.match(noWait.stderr.trim(), new RegExp(`^waiting for (switchover|backup) \\(.+\\) on ${L}$`));
  }
  assert.equal(await backups(), before + 1, 'exactly one new backup');
  assert.equal((await status()).leader, 'pg-0');
});

test('cluster delete during replica add: it waits for the add, then nothing of the cluster is left, also once every workflow of it has ended', async () => {
  const add = cli('replica', 'add', L);
  await heldBy('add-replicas');
  const del = await cli('cluster', 'delete', L, '--purge-backups', '--yes');
  const added = await add;
  assert.equal(added.code, 0, added.stderr + added.stdout);
  assert.equal(del.code, 0, del.stderr + del.stdout);
  assert.match(del.stdout, new RegExp(`waiting for add-replicas \\(add-replicas:${L}:[^)]+\\) on ${L}`));
  const nothing = { containers: 0, networks: 0, volumes: 0 };
  assert.deepEqual(await clusterFootprint(localInventory(docker), L), nothing);
  // Nothing can act on the cluster once no workflow of it runs (the lease's ends once idle); 15 s
  // more covers an activity a dead run left executing (10 s heartbeat timeout).
  const query = `${SEARCH_ATTRIBUTE_CLUSTER} = "${L}" AND ExecutionStatus = "Running"`;
  const running = async (): Promise<string[]> => {
    const ids: string[] = [];
    for await (const wf of it.env.client.workflow.list({ query })) ids.push(wf.workflowId);
    return ids;
  };
  for (let i = 0; i < 60 && (await running()).length > 0; i++) await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await running(), [], 'no workflow of the cluster runs a minute after the delete');
  await new Promise((r) => setTimeout(r, 15_000));
  assert.deepEqual(await clusterFootprint(localInventory(docker), L), nothing, 'nothing came back 15 s after its last workflow ended');
});
