/**
 * `dbaas cluster rebuild NAME` (every member's container re-created on the current image) and
 * `dbaas cluster resize NAME [--cpus N] [--memory SIZE]` (the same with new limits, the parameters
 * derived from the memory written first): workflow rebuildCluster.
 */
import type { Inventory } from '../../activities/hosts/inventory';
import { restartSnapshot } from '../../activities/member-restart';
import { rebuildInputProblem, resizeRequestKey, type RebuildClusterInput, type RebuildClusterResult } from '../../common/cluster-rebuild';
import { planRestart } from '../../common/cluster-restart';
import { describeSize, type MemberSize } from '../../common/sizes';
import { rebuildWorkflowIds } from '../../common/workflow-ids';
import type { rebuildCluster } from '../../workflows';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

/** Docker refuses a CPU limit above the engine's CPUs (at container creation, mid-run): refused here first. */
export async function cpusProblemOnEngine(inv: Inventory, cpus: number | undefined): Promise<string | undefined> {
  if (cpus === undefined) return undefined;
  const { NCPU } = (await inv.engine().info()) as { NCPU?: number };
  return NCPU !== undefined && cpus > NCPU ? `--cpus ${cpus} is more than the ${NCPU} CPUs of this machine's Docker engine` : undefined;
}

const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

function printResult(r: RebuildClusterResult): void {
  for (const m of r.rebuilt) console.log(`${m.member}: ${m.how} (container ${shortId(m.containerAfter)}, was ${shortId(m.containerBefore)}; image ${shortId(m.image)})`);
  if (r.parameters.length > 0) console.log(`parameters written first: ${r.parameters.map((c) => `${c.name}=${c.value}`).join(', ')}`);
  if (r.switchover) console.log(`switched over: ${r.switchover.from} → ${r.switchover.to}`);
  console.log(`${r.cluster}: leader ${r.leader}; size ${describeSize(r.size ?? undefined)}; write downtime: ${r.writeDowntime}`);
  if (r.pendingAfter.length > 0) console.log(`pending restart: ${r.pendingAfter.join(', ')} (\`dbaas cluster restart ${r.cluster}\` applies it)`);
  if (r.pooler) console.log(`pooler pools: ${r.pooler}`);
}

export async function rebuildCommand(cluster: string, resize?: MemberSize): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const input: RebuildClusterInput = { cluster, ...(resize ? { resize } : {}) };
  const verb = resize ? 'resize' : 'rebuild';
  const gateway = await connectGateway();
  try {
    const id = resize ? rebuildWorkflowIds.resize(cluster, resizeRequestKey(resize)) : rebuildWorkflowIds.rebuild(cluster);
    const { run: handle } = await startOrAttachRun<typeof rebuildCluster>(
      gateway, 'rebuildCluster', id, cluster, [input],
      { running: `a ${verb} of ${cluster} is running`, starting: resize ? `resizing ${cluster} to ${describeSize(resize)}` : `rebuilding ${cluster}` },
      async () => {
        // Refuse before starting anything (the workflow checks again: it is the authority).
        const problem = rebuildInputProblem(input) ?? (await cpusProblemOnEngine(inv, resize?.cpus));
        if (problem) throw new UsageError(problem);
        const d = planRestart(await restartSnapshot(inv, cluster), { operation: 'rebuild' });
        if (d.kind === 'refuse') throw new UsageError(d.reason);
      },
    );
    printResult(await followRun<RebuildClusterResult>(gateway, handle, `cluster ${verb} ${cluster}`));
  } finally {
    await gateway.close();
  }
}
