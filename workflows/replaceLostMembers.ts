/**
 * ReplaceLostMembers: the cluster watch starts it when a host has been lost for the cluster's
 * replace-after period. The Postgres members that were on that host are re-created, one AddReplica
 * child each, on hosts that hold none of the cluster's Postgres members (colocating two members
 * would undo the spread the cluster was made with: without such a host a member is not replaced,
 * and the result says so). A new member's host gets a front door (HAProxy and the poolers) when it
 * has none. At the end the watch is told which lost members are retired: their containers are
 * removed when their host answers again (common/host-loss.ts).
 *
 * The lost members' etcd member stays in the etcd cluster: two of three keep quorum, and a
 * returning host brings it back.
 */
import { executeChild, getExternalWorkflowHandle } from '@temporalio/workflow';
import { LOCAL_HOST } from '../common/inventory';
import { leaseStep } from '../common/lease';
import { nextMemberNames } from '../common/members';
import { haWorkflowIds, replicaWorkflowIds } from '../common/workflow-ids';
import { innermostMessage } from '../common/error-chain';
import { quick } from './activity-options';
import { addReplica } from './addReplica';
import { memberChildOptions } from './children';
import { hostLossOutcomeSignal, type HostLossOutcome } from './host-loss-signals';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { Steps } from './steps';
import { openFrontDoor } from './front-door';
import { metricsNotRunningLine } from '../common/metrics-state';

export interface ReplaceLostMembersInput {
  cluster: string;
  host: string;
  /** The Postgres members the watch last saw on the host. */
  members: string[];
  /** When the watch first saw the host lost (ms): names this loss. */
  since: number;
}

export interface Replacement {
  lost: string;
  member: string;
  host: string;
}

export interface ReplaceLostMembersResult {
  cluster: string;
  host: string;
  replaced: Replacement[];
  /** Lost members left without a replacement, and why. */
  notReplaced: string[];
  reason?: string;
}

export async function replaceLostMembers(input: ReplaceLostMembersInput): Promise<ReplaceLostMembersResult> {
  const { cluster, host, members } = input;
  checkNames({ clusters: [cluster], members, hosts: [host] });
  if (members.length === 0) refuse('no lost members to replace');
  const choose = `check ${host} is still lost; choose hosts without members of ${cluster}`;
  const steps = new Steps('replace-lost-members', cluster, [leaseStep(cluster), choose]);
  const tell = async (o: Omit<HostLossOutcome, 'host' | 'since'>): Promise<void> => {
    try {
      await getExternalWorkflowHandle(haWorkflowIds.clusterWatch(cluster)).signal(hostLossOutcomeSignal, { host, since: input.since, ...o });
    } catch {
      // No watch runs (the cluster is being deleted): nobody to tell.
    }
  };
  let result: ReplaceLostMembersResult;
  try {
    result = await withClusterLease(steps, cluster, () => replaceUnderLease(input, steps, choose));
  } catch (err) {
    await tell({ retired: [], ok: false, message: `re-creating ${members.join(', ')} of lost host ${host} failed: ${innermostMessage(err)}` });
    throw err;
  }
  const done = result.replaced.map((r) => `${r.lost} as ${r.member} on ${r.host}`).join(', ');
  await tell({
    retired: result.replaced.map((r) => r.lost),
    ok: result.replaced.length > 0,
    message: result.reason ?? `re-created ${done || 'nothing'}${result.notReplaced.length > 0 ? `; not ${result.notReplaced.join(', ')}: no other host without a member of ${cluster} answers` : ''}`,
  });
  return result;
}

async function replaceUnderLease(input: ReplaceLostMembersInput, steps: Steps, choose: string): Promise<ReplaceLostMembersResult> {
  const { cluster, host, members } = input;
  const plan = await steps.run(choose, async () => {
    const offers = (await quick.placementHosts()).filter((h) => h.name !== LOCAL_HOST);
    if (offers.some((h) => h.name === host)) return undefined;
    const d = await quick.describeCluster(cluster, { host, members });
    if (!d.leader) refuse(`cluster ${cluster} has no leader; cannot clone replacements for ${members.join(', ')}`);
    if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
    const taken = new Set(d.members.map((m) => m.host ?? LOCAL_HOST));
    const free = offers.filter((h) => !taken.has(h.name)).sort((a, b) => a.load - b.load || a.name.localeCompare(b.name));
    const names = nextMemberNames(d.namesInUse, members.length);
    const pairs = members.slice(0, free.length).map((lost, k) => ({ lost, member: names[k], host: free[k].name, address: free[k].address }));
    return { pairs, notReplaced: members.slice(free.length), frontDoors: d.frontDoors ?? [], ports: d.ports!, profile: d.settings.profile, before: d.members.map((m) => m.name) };
  });
  if (!plan) return { cluster, host, replaced: [], notReplaced: members, reason: `host ${host} answers again: nothing re-created` };
  const step = (p: Replacement): string => `re-create ${p.lost} as ${p.member} on ${p.host} (child workflow ${replicaWorkflowIds.add(cluster, p.member)})`;
  const doorsNeeded = [...new Set(plan.pairs.map((p) => p.host))].filter((h) => !plan.frontDoors.includes(h));
  const doorStep = (h: string): string => `start a front door on ${h} (HAProxy, pgbouncer rw and ro)`;
  steps.plan([...plan.pairs.map(step), ...doorsNeeded.map(doorStep)]);
  const replaced: Replacement[] = [];
  // One at a time: each AddReplica renders every front door's HAProxy from the members it sees.
  for (const p of plan.pairs) {
    await steps.run(step(p), () =>
      executeChild(addReplica, {
        ...memberChildOptions(cluster),
        workflowId: replicaWorkflowIds.add(cluster, p.member),
        args: [{ cluster, member: p.member, readOnly: false, cloneMethod: 'basebackup' as const, host: p.host, lost: { host, members } }],
      }),
    );
    replaced.push({ lost: p.lost, member: p.member, host: p.host });
  }
  const now = [...plan.before, ...replaced.map((r) => r.member)];
  for (const h of doorsNeeded) {
    const address = plan.pairs.find((p) => p.host === h)?.address;
    const publishing = address ? { publishOn: address } : {};
    const door = await steps.run(doorStep(h), () => openFrontDoor(h, { cluster, members: now, profile: plan.profile, ports: plan.ports, ...publishing }));
    if (door.metricsProblem) steps.note(doorStep(h), metricsNotRunningLine(cluster, `on ${h}: ${door.metricsProblem}`));
  }
  return { cluster, host, replaced, notReplaced: plan.notReplaced };
}
