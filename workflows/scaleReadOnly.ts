/**
 * ScaleReadOnly: converge the number of read-only members to a target by running AddReplica
 * and RemoveReplica as child workflows. Idempotent: at the target it changes nothing.
 */
import { executeChild } from '@temporalio/workflow';
import { nextMemberNames, readOnlyToRemove } from '../common/members';
import { replicaWorkflowIds } from '../common/workflow-ids';
import type { AddReplicaResult, RemoveReplicaResult } from '../common/replicas';
import { MAX_REPLICAS } from '../common/spec';
import { quick } from './activity-options';
import { addReplica } from './addReplica';
import { memberChildOptions } from './children';
import { refuse } from './refusals';
import { removeReplica } from './removeReplica';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';

export interface ScaleReadOnlyInput {
  cluster: string;
  target: number;
  drainTimeoutMs: number;
}

export interface ScaleReadOnlyResult {
  cluster: string;
  readOnly: string[];
  added: string[];
  removed: string[];
}

export async function scaleReadOnly(input: ScaleReadOnlyInput): Promise<ScaleReadOnlyResult> {
  const { cluster, target } = input;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('scale-read-only', cluster, [leaseStep(cluster), 'look at the cluster']);
  // The children (AddReplica, RemoveReplica) are granted the lease under this workflow's.
  return withClusterLease(steps, cluster, () => scaleUnderLease(input, steps));
}

async function scaleUnderLease(input: ScaleReadOnlyInput, steps: Steps): Promise<ScaleReadOnlyResult> {
  const { cluster, target } = input;
  const desc = await steps.run('look at the cluster', async () => {
    if (!Number.isInteger(target) || target < 0 || target > MAX_REPLICAS) refuse(`--read-only must be 0-${MAX_REPLICAS}, got ${target}`);
    return quick.describeCluster(cluster);
  });
  const current = desc.members.filter((m) => m.readOnly).map((m) => m.name);
  const toAdd = nextMemberNames(desc.namesInUse, Math.max(0, target - current.length));
  const toRemove = readOnlyToRemove(desc.members, target);
  steps.plan([...toAdd.map((m) => `add read-only ${m}`), ...toRemove.map((m) => `remove ${m}`)]);
  const child = memberChildOptions(cluster);

  await Promise.all(
    toAdd.map((member) =>
      steps.run(`add read-only ${member}`, () =>
        executeChild(addReplica, {
          ...child,
          workflowId: replicaWorkflowIds.add(cluster, member),
          args: [{ cluster, member, readOnly: true, cloneMethod: 'basebackup' as const }],
        }) as Promise<AddReplicaResult>,
      ),
    ),
  );
  // One at a time: each removal drains sessions first, and the others keep serving meanwhile.
  for (const member of toRemove) {
    await steps.run(`remove ${member}`, () =>
      executeChild(removeReplica, {
        ...child,
        workflowId: replicaWorkflowIds.remove(cluster, member),
        args: [{ cluster, member, drainTimeoutMs: input.drainTimeoutMs }],
      }) as Promise<RemoveReplicaResult>,
    );
  }
  const readOnly = [...current.filter((m) => !toRemove.includes(m)), ...toAdd];
  return { cluster, readOnly, added: toAdd, removed: toRemove };
}
