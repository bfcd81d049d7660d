/**
 * RemoveReplica: drain the member in HAProxy, stop it gracefully, wait until it leaves
 * Patroni's /cluster, delete its volume. Refuses the leader, unknown members and the last
 * member able to take over.
 */
import { removalProblem } from '../common/members';
import { etcdMemberNames } from '../common/spec';
import type { RemoveReplicaInput, RemoveReplicaResult } from '../common/replicas';
import { patched } from '@temporalio/workflow';
import { onHost, quick, waits } from './activity-options';
import { LOCAL_HOST, type HostName } from '../common/inventory';
import { settleAll } from './settle-all';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';

/** Histories from before hosts remove every member on this machine. */
const HOSTS_PATCH = 'replica-on-hosts';

export async function removeReplica(input: RemoveReplicaInput): Promise<RemoveReplicaResult> {
  const { cluster, member } = input;
  checkNames({ clusters: [cluster], members: [member] });
  const steps = new Steps('remove-replica', cluster, [
    leaseStep(cluster),
    `check ${member} can be removed`,
    `drain ${member} in HAProxy`,
    `stop ${member}`,
    `remove ${member} from HAProxy`,
    `delete ${member}'s key in etcd (instead of waiting for ttl)`,
    `wait for ${member} to leave the cluster`,
    `delete ${member} volume`,
  ]);
  return withClusterLease(steps, cluster, () => removeUnderLease(input, steps));
}

async function removeUnderLease(input: RemoveReplicaInput, steps: Steps): Promise<RemoveReplicaResult> {
  const { cluster, member } = input;
  const desc = await steps.run(`check ${member} can be removed`, async () => {
    const d = await quick.describeCluster(cluster);
    const problem = removalProblem(d.members, member);
    if (problem) refuse(problem);
    return d;
  });
  const others = desc.members.map((m) => m.name).filter((m) => m !== member);
  const statsPort = desc.ports?.stats;
  // A cluster across hosts: the member's steps on its host's queue, HAProxy's on every front door's
  // (each host's worker sees only its own engine, so the workflow names the members).
  const acrossHosts = patched(HOSTS_PATCH) && desc.members.some((m) => (m.host ?? LOCAL_HOST) !== LOCAL_HOST);
  const on = onHost(acrossHosts ? (desc.members.find((m) => m.name === member)?.host ?? LOCAL_HOST) : LOCAL_HOST);
  const frontDoors: HostName[] = acrossHosts ? (desc.frontDoors ?? []) : [LOCAL_HOST];
  const drained = statsPort === undefined
    ? { sessionsLeft: 0 }
    : await steps.run(`drain ${member} in HAProxy`, async () => {
      const left = await settleAll(frontDoors.map((h) => onHost(h).waits.drainHaproxyServer({ cluster, member, statsPort, timeoutMs: input.drainTimeoutMs })));
      return { sessionsLeft: left.reduce((n, d) => n + d.sessionsLeft, 0) };
    });
  await steps.run(`stop ${member}`, async () => {
    // Right before the stop: the member must still not lead (a failover may have promoted it).
    const problem = removalProblem((await quick.describeCluster(cluster)).members, member);
    if (problem) {
      if (statsPort !== undefined) await settleAll(frontDoors.map((h) => onHost(h).cleanup.undrainHaproxyServer({ cluster, member })));
      refuse(problem);
    }
    await on.cleanup.stopMember({ cluster, member });
  });
  if (statsPort !== undefined) {
    await steps.run(`remove ${member} from HAProxy`, () =>
      // The container is gone, so the rendered config (from the containers that exist) omits it.
      settleAll(frontDoors.map((h) =>
        onHost(h).quick.reconfigureHaproxy({ cluster, profile: desc.settings.profile, statsPort, ...(acrossHosts ? { members: others } : {}) }))),
    );
  }
  await steps.run(`delete ${member}'s key in etcd (instead of waiting for ttl)`, () =>
    quick.forgetRemovedMember({ cluster, member, etcdMembers: etcdMemberNames(desc.settings.etcdMembers) }),
  );
  await steps.run(`wait for ${member} to leave the cluster`, () => waits.waitForMemberGone({ cluster, member, others }));
  await steps.run(`delete ${member} volume`, () => on.cleanup.removeMemberVolume({ cluster, member }));
  return { cluster, member, sessionsCutAfterDrain: drained.sessionsLeft };
}
