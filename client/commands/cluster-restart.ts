/** `dbaas cluster restart NAME [--member M]`: a rolling restart of the cluster's PostgreSQL (workflow restartCluster). */
import { restartSnapshot } from '../../activities/member-restart';
import { leaderFirstNote, planRestart, type RestartClusterInput, type RestartClusterResult } from '../../common/cluster-restart';
import { haWorkflowIds } from '../../common/workflow-ids';
import type { restartCluster } from '../../workflows';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

function printResult(r: RestartClusterResult, member?: string): void {
  for (const m of r.restarted) console.log(`${m.member}: ${m.how} (postmaster started ${m.startedAfter}, was ${m.startedBefore})`);
  if (r.restarted.length === 0) console.log(`${r.cluster}: no member restarted${r.notPending.length ? ` (nothing pending on ${r.notPending.join(', ')})` : ''}`);
  if (r.switchover) console.log(`switched over: ${r.switchover.from} → ${r.switchover.to}`);
  console.log(`${r.cluster}: leader ${r.leader}; write downtime: ${r.writeDowntime}`);
  const list = (ms: string[]): string => ms.join(', ') || 'none';
  console.log(`pending restart: ${list(r.pendingAfter)} (before: ${list(r.pendingBefore)})`);
  const lowered = r.leaderFirst ?? [];
  const first = r.restarted.find((m) => m.how === 'restarted in place first')?.member;
  if (lowered.length > 0) {
    console.log(member ? leaderFirstNote(r.cluster, member, lowered) : `${first} restarted first for the lower ${lowered.join(', ')} (replicas cannot run less than their primary)`);
  }
  if (r.pooler) console.log(`pooler pools: ${r.pooler}`);
}

export async function clusterRestartCommand(cluster: string, o: { member?: string }): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const gateway = await connectGateway();
  try {
    const input: RestartClusterInput = { cluster, ...(o.member ? { member: o.member } : {}) };
    const what = o.member ? `${o.member} of ${cluster}` : cluster;
    const { run: handle } = await startOrAttachRun<typeof restartCluster>(
      gateway, 'restartCluster', haWorkflowIds.restart(cluster, o.member), cluster, [input],
      { running: `a restart of ${what} is running`, starting: `restarting ${what}` },
      async () => {
        // Refuse before starting anything (the workflow checks again: it is the authority).
        const d = planRestart(await restartSnapshot(inv, cluster), input);
        if (d.kind === 'refuse') throw new UsageError(d.reason);
      },
    );
    printResult(await followRun<RestartClusterResult>(gateway, handle, `cluster restart ${what}`), o.member);
  } finally {
    await gateway.close();
  }
}
