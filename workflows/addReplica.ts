/**
 * AddReplica: one more Patroni member that clones from the leader, streams, and serves reads
 * through the ro port — proven by a query that lands on it.
 */
import { settleAll } from './settle-all';
import { CancellationScope, patched } from '@temporalio/workflow';
import type { AddReplicaInput, AddReplicaResult } from '../common/replicas';
import { memberPort } from '../common/ports';
import { longRunning, onHost, quick, waits } from './activity-options';
import { LOCAL_HOST, type HostName } from '../common/inventory';
import { pickHostForMember } from '../common/placement';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';

/** Histories from before hosts add every member on this machine. */
const HOSTS_PATCH = 'replica-on-hosts';

/** Lag in bytes under which the new member counts as caught up (Patroni's default maximum_lag_on_failover). */
const CAUGHT_UP_BYTES = 1024 * 1024;

export async function addReplica(input: AddReplicaInput): Promise<AddReplicaResult> {
  const { cluster, member } = input;
  checkNames({
    clusters: [cluster], members: [member, ...(input.lost?.members ?? [])],
    hosts: [...(input.host !== undefined ? [input.host] : []), ...(input.lost ? [input.lost.host] : [])],
  });
  const steps = new Steps('add-replica', cluster, [
    leaseStep(cluster),
    'check the cluster has a leader',
    `start ${member} (clone: ${input.cloneMethod})`,
    `add ${member} to HAProxy (in maintenance while it clones)`,
    `wait for ${member} streaming`,
    `put ${member} in service in HAProxy (UP in ro)`,
    `prove a read through ro lands on ${member}`,
  ]);
  return withClusterLease(steps, cluster, () => addUnderLease(input, steps));
}

async function addUnderLease(input: AddReplicaInput, steps: Steps): Promise<AddReplicaResult> {
  const { cluster, member } = input;
  const desc = await steps.run('check the cluster has a leader', async () => {
    const d = await quick.describeCluster(cluster, input.lost);
    if (!d.leader) refuse(`cluster ${cluster} has no leader; cannot clone a new member`);
    if (d.namesInUse.includes(member)) refuse(`member ${member} already exists in ${cluster}`);
    if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
    return d;
  });
  const ports = desc.ports!;
  const before = desc.members.map((m) => m.name);
  const members = [...before, member];
  const spec = { name: cluster, replicas: members.length - 1, ...desc.settings };
  // A cluster across hosts: the member goes to the host with the fewest of its members, its steps
  // to that host's queue, and every front door's HAProxy learns it (each host's worker sees only
  // its own engine, so the workflow names the members).
  const acrossHosts = patched(HOSTS_PATCH) && desc.members.some((m) => (m.host ?? LOCAL_HOST) !== LOCAL_HOST);
  const target = acrossHosts
    ? await steps.run(`choose a host for ${member}`, async () => {
      const offers = (await quick.placementHosts()).filter((h) => h.name !== LOCAL_HOST);
      const name = input.host !== undefined
        ? offers.find((h) => h.name === input.host)?.name
        : pickHostForMember(desc.members.map((m) => m.host ?? LOCAL_HOST), offers);
      if (!name && input.host !== undefined) refuse(`host ${input.host} does not answer: cannot put ${member} there`);
      if (!name) refuse(`no added host answers to take ${member} (\`dbaas host list\`)`);
      return { name, address: offers.find((h) => h.name === name)?.address };
    })
    : undefined;
  const on = onHost(target?.name ?? LOCAL_HOST);
  const frontDoors: HostName[] = acrossHosts ? (desc.frontDoors ?? []) : [LOCAL_HOST];
  const named = (list: string[]) => (acrossHosts ? { members: list } : {});
  const reconfigure = (kind: 'quick' | 'cleanup', list: string[]) =>
    settleAll(frontDoors.map((h) => onHost(h)[kind].reconfigureHaproxy({ cluster, profile: desc.settings.profile, statsPort: ports.stats, ...named(list) })));
  try {
    await steps.run(`start ${member} (clone: ${input.cloneMethod})`, () =>
      on.quick.startPostgresMember({
        spec, member, nofailover: input.readOnly, ...(target?.address ? { publishOn: target.address } : { directPort: memberPort(ports.rw, member) }),
      }),
    );
    // The reload (the slow part of an HAProxy change) runs while the member clones; the member
    // joins in maintenance and is put in service by one runtime command once it is ready.
    const [, { lag }] = await settleAll([
      steps.run(`add ${member} to HAProxy (in maintenance while it clones)`, () => reconfigure('quick', members)),
      // A clone takes as long as it takes: the wait fails only once the clone stops progressing.
      steps.run(`wait for ${member} streaming`, () =>
        longRunning.waitForReplicaStreaming({ cluster, member, members, maxLagBytes: CAUGHT_UP_BYTES }),
      ),
    ]);
    await steps.run(`put ${member} in service in HAProxy (UP in ro)`, async () => {
      if (acrossHosts) await waits.waitForReplicaAnswer({ cluster, member });
      await settleAll(frontDoors.map((h) =>
        onHost(h).waits.putHaproxyMemberInService({ cluster, member, profile: desc.settings.profile, statsPort: ports.stats, ...named(members) }),
      ));
    });
    const proof = await steps.run(`prove a read through ro lands on ${member}`, () =>
      waits.proveReadOnMember({ cluster, member, roPort: ports.ro }),
    );
    return { cluster, member, readOnly: input.readOnly, lagBytes: lag, readAttempts: proof.attempts };
  } catch (err) {
    steps.skipPending();
    // Nothing half-created: take the member out of HAProxy and remove it with its volume.
    await CancellationScope.nonCancellable(() =>
      steps.run(`compensate: remove ${member}`, async () => {
        await on.cleanup.stopMember({ cluster, member });
        // Rendered from the containers that exist (across hosts: the members before this run).
        await reconfigure('cleanup', before);
        await on.cleanup.removeMemberVolume({ cluster, member });
      }),
    );
    throw err;
  }
}
