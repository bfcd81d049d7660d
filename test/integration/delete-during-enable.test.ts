/**
 * `cluster delete` during `backup enable` (issue 10): the delete waits for the enable, which
 * re-creates the members with access to the repository (on the repository host) and ends cleanly,
 * then removes the cluster. Nothing of it is left, also a minute later, but its stanza on the
 * repository host (which a delete keeps): no container, network or volume, no backup schedule,
 * no workflow of the cluster running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { ClusterStatus } from '../../client/cluster-info';
import { leaseWorkflowId, type LeaseView } from '../../common/lease';
import { PROGRESS_QUERY, type Progress } from '../../common/progress';
import { LABEL_CLUSTER } from '../../common/labels';
import { SEARCH_ATTRIBUTE_CLUSTER } from '../../common/search-attributes';
import { TASK_QUEUE } from '../../common/task-queues';
import { backupWorkflowIds, haWorkflowIds, workflowIds } from '../../common/workflow-ids';
import { listBackupSchedules } from '../../activities/schedules';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type CliResult, type IntegrationEnv } from '../helpers/integration';

let it: IntegrationEnv;
const docker = new Docker();
const C = testClusterName('delenable');
before(async () => {
  it = await startIntegration(docker);
});

after(async () => {
  await it?.stop([C]);
});

const cli = (...args: string[]): Promise<CliResult> => runCli(args, childEnv(it.env, it.paths));

/** Resolves once the enable holds the lease (as `cluster status` shows it) and has begun re-creating a member. */
async function enableRecreatingMembers(timeoutMs = 120_000): Promise<void> {
  const handle = it.env.client.workflow.getHandle(backupWorkflowIds.enable(C));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await cli('cluster', 'status', C, '--json');
    assert.equal(s.code, 0, s.stderr);
    const held = (JSON.parse(s.stdout) as ClusterStatus & LeaseView).operation?.operation === 'enable-backups';
    const steps = held ? (await handle.query<Progress>(PROGRESS_QUERY)).steps : [];
    if (steps.some((st) => st.name.startsWith('re-create ') && st.state !== 'pending')) return;
    if (Date.now() > deadline) throw new Error(`the enable did not begin re-creating a member of ${C} within ${timeoutMs} ms (steps: ${JSON.stringify(steps)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What is left of the cluster: containers, networks, volumes by name, running workflows, backup schedules. */
async function leftovers(): Promise<{ containers: string[]; networks: string[]; volumes: string[]; running: string[]; schedules: string[] }> {
  const filters = { label: [`${LABEL_CLUSTER}=${C}`] };
  const [cs, ns, vs] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const running: string[] = [];
  const query = `${SEARCH_ATTRIBUTE_CLUSTER} = "${C}" AND ExecutionStatus = "Running"`;
  for await (const wf of it.env.client.workflow.list({ query })) running.push(wf.workflowId);
  return {
    containers: cs.map((c) => c.Names[0]),
    networks: ns.map((n) => n.Name),
    volumes: (vs.Volumes ?? []).map((v) => v.Name),
    running,
    schedules: (await listBackupSchedules(it.env.client, C)).map((s) => s.id),
  };
}

/** The lease's own workflow ends once idle, a moment after the delete releases it: `settled` false leaves it out. */
const watchStatus = async (): Promise<string> => (await it.env.client.workflow.getHandle(haWorkflowIds.clusterWatch(C)).describe()).status.name;

async function assertNothingLeft(when: string, settled: boolean): Promise<void> {
  const left = await leftovers();
  assert.deepEqual(left.containers, [], `${when}: no container`);
  assert.deepEqual(left.networks, [], `${when}: no network`);
  // The backups are kept on the repository host; no volume of the cluster is.
  assert.deepEqual(left.volumes, [], `${when}: no volume`);
  assert.deepEqual(left.schedules, [], `${when}: no backup schedule`);
  const lease = leaseWorkflowId(C, TASK_QUEUE, TASK_QUEUE);
  assert.deepEqual(left.running.filter((id) => settled || id !== lease), [], `${when}: no workflow of the cluster running`);
  assert.notEqual(await watchStatus(), 'RUNNING', `${when}: the cluster watch is not running`);
}

test('cluster delete during backup enable: it waits for the enable, which ends cleanly; nothing of the cluster is left, also once every workflow of it has ended', async () => {
  const made = await cli('cluster', 'create', C, '--replicas', '1', '--profile', 'fast', '--no-backups');
  assert.equal(made.code, 0, made.stderr + made.stdout);
  await queryCluster(childEnv(it.env, it.paths), C, 'create table kept (id int primary key); insert into kept values (1)');
  assert.equal(await watchStatus(), 'RUNNING', 'the create started the cluster watch');

  const enable = cli('backup', 'enable', C);
  await enableRecreatingMembers();
  const del = await cli('cluster', 'delete', C, '--yes');
  const enabled = await enable;
  // The delete queues behind the running enable (only queued operations are refused), so the enable finishes every member.
  assert.equal(enabled.code, 0, enabled.stderr + enabled.stdout);
  assert.match(enabled.stdout, /now archives WAL into its repository: re-created pg-1, pg-0; leader pg-1/);
  assert.equal(del.code, 0, del.stderr + del.stdout);
  // Started mid-enable, the delete waits for it; only an enable already ended when the delete began would not be named.
  const [enableRun, deleteRun] = await Promise.all([backupWorkflowIds.enable(C), workflowIds.deleteCluster(C)].map((id) => it.env.client.workflow.getHandle(id).describe()));
  const endedFirst = enableRun.closeTime !== undefined && enableRun.closeTime <= deleteRun.startTime;
  if (!endedFirst) assert.match(del.stdout, new RegExp(`waiting for enable-backups \\(${backupWorkflowIds.enable(C)}\\) on ${C}`));

  await assertNothingLeft('right after the delete', false);
  // Nothing can act on the cluster once no workflow of it runs (the lease's ends once idle); 15 s
  // more covers an activity a dead run left scheduled (10 s heartbeat timeout, 10 s retry cap).
  for (let i = 0; i < 60 && (await leftovers()).running.length > 0; i++) await new Promise((r) => setTimeout(r, 1000));
  await new Promise((r) => setTimeout(r, 15_000));
  await assertNothingLeft('15 s after its last workflow ended', true);
});
