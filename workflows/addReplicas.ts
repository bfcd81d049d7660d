/**
 * AddReplicas (`dbaas replica add NAME --count N`): choose the new members' names holding the
 * cluster's lease — so two `replica add` at once make two members, never one twice — then add
 * them together as AddReplica children.
 */
import { executeChild } from '@temporalio/workflow';
import { leaseStep } from '../common/lease';
import { nextMemberNames } from '../common/members';
import { replicaWorkflowIds } from '../common/workflow-ids';
import type { AddReplicaResult, AddReplicasInput } from '../common/replicas';
import { MAX_REPLICAS } from '../common/spec';
import { quick } from './activity-options';
import { addReplica } from './addReplica';
import { memberChildOptions } from './children';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { Steps } from './steps';

export async function addReplicas(input: AddReplicasInput): Promise<AddReplicaResult[]> {
  const { cluster, count } = input;
  checkNames({ clusters: [cluster] });
  const steps = new Steps('add-replicas', cluster, [leaseStep(cluster), 'choose the new members']);
  return withClusterLease(steps, cluster, async () => {
    const members = await steps.run('choose the new members', async () => {
      if (!Number.isInteger(count) || count < 1 || count > MAX_REPLICAS) refuse(`--count must be an integer from 1 to ${MAX_REPLICAS}, got ${count}`);
      const d = await quick.describeCluster(cluster);
      if (!d.leader) refuse(`cluster ${cluster} has no leader; cannot clone a new member`);
      return nextMemberNames(d.namesInUse, count);
    });
    const step = (m: string): string => `add ${input.readOnly ? 'read-only ' : ''}${m} (child workflow ${replicaWorkflowIds.add(cluster, m)})`;
    steps.plan(members.map(step));
    return Promise.all(
      members.map((member) =>
        steps.run(step(member), () =>
          executeChild(addReplica, {
            ...memberChildOptions(cluster),
            workflowId: replicaWorkflowIds.add(cluster, member),
            args: [{ cluster, member, readOnly: input.readOnly, cloneMethod: 'basebackup' as const }],
          }),
        ),
      ),
    );
  });
}
