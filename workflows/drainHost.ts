/**
 * DrainHost (`dbaas host drain NAME`): move every member off a host, one cluster at a time, so the
 * machine can be serviced or removed. Per cluster (DrainClusterFromHost, holding its lease):
 *
 *  1. a new Postgres member for each one on the host, on another host (the one with the fewest of
 *     the cluster's members), as AddReplica children; a front door beside it if its host has none;
 *  2. the host's front door goes: clients of the multi-host URI move to the next host at once
 *     (the port is closed, not silent);
 *  3. a switchover when the host's member leads (to a synchronous standby elsewhere if there is
 *     one): the only write downtime of the drain;
 *  4. the host's Postgres members go (RemoveReplica: drained, out of every front door);
 *  5. each etcd member on the host is replaced: `member add` of a new one on another host, which
 *     joins the running cluster, quorum checked, then `member remove` of the old one.
 *
 * The host ends with none of the cluster's containers; a cluster that cannot be moved (no other
 * host answers, no leader) is refused before anything changes.
 */
import { ApplicationFailure, executeChild, isCancellation } from '@temporalio/workflow';
import { innermostMessage, innermostType } from '../common/error-chain';
import { LOCAL_HOST, type HostName } from '../common/inventory';
import { leaseStep } from '../common/lease';
import { nextEtcdNames, nextMemberNames } from '../common/members';
import { pickHostForMember } from '../common/placement';
import { hostWorkflowIds, replicaWorkflowIds } from '../common/workflow-ids';
import { onHost, quick, waits } from './activity-options';
import { addReplica } from './addReplica';
import { memberChildOptions } from './children';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { refuse } from './refusals';
import { removeReplica } from './removeReplica';
import { Steps } from './steps';
import { openFrontDoor } from './front-door';
import { metricsNotRunningLine } from '../common/metrics-state';
import { switchover } from './switchover';

export interface DrainHostInput {
  host: HostName;
  /** How long sessions on a removed Postgres member may run on (RemoveReplica's drain). */
  drainTimeoutMs: number;
}

export interface MemberMove {
  kind: 'postgres' | 'etcd';
  from: string;
  to: string;
  host: HostName;
}

export interface ClusterDrain {
  cluster: string;
  moves: MemberMove[];
  /** The leader moved off the host: from → to. */
  switchover?: { from: string; to: string };
  frontDoorRemoved: boolean;
}

export interface DrainHostResult {
  host: HostName;
  clusters: ClusterDrain[];
}

export async function drainHost(input: DrainHostInput): Promise<DrainHostResult> {
  const { host } = input;
  checkNames({ hosts: [host] });
  if (host === LOCAL_HOST) refuse('the local engine is not drained: it is not an added host');
  const find = `find the clusters on ${host}`;
  const steps = new Steps('drain-host', host, [find]);
  const clusters = await steps.run(find, () => quick.clustersOnHost(host));
  const step = (c: string): string => `move ${c} off ${host} (child workflow ${hostWorkflowIds.drainCluster(c, host)})`;
  steps.plan(clusters.map(step));
  const drained: ClusterDrain[] = [];
  for (const cluster of clusters) {
    drained.push(await steps.run(step(cluster), () =>
      executeChild(drainClusterFromHost, {
        ...memberChildOptions(cluster),
        workflowId: hostWorkflowIds.drainCluster(cluster, host),
        args: [{ cluster, host, drainTimeoutMs: input.drainTimeoutMs }],
      }),
    ));
  }
  return { host, clusters: drained };
}

export interface DrainClusterInput {
  cluster: string;
  host: HostName;
  drainTimeoutMs: number;
}

export async function drainClusterFromHost(input: DrainClusterInput): Promise<ClusterDrain> {
  const { cluster, host } = input;
  checkNames({ clusters: [cluster], hosts: [host] });
  const planStep = `plan the moves off ${host}`;
  const steps = new Steps('drain-cluster-from-host', cluster, [leaseStep(cluster), planStep]);
  try {
    return await drainUnderLease(input, steps, planStep);
  } catch (err) {
    // The parent shows only this run's error: it names the step (a child's own steps are not on
    // the parent's CLI), and keeps the failure's type (a refusal stays a refusal).
    const step = steps.lastFailed();
    if (!step || isCancellation(err) || err instanceof ApplicationFailure && innermostMessage(err) === err.message) throw err;
    throw ApplicationFailure.create({ message: `${step}: ${innermostMessage(err)}`, type: innermostType(err), nonRetryable: true });
  }
}

async function drainUnderLease(input: DrainClusterInput, steps: Steps, planStep: string): Promise<ClusterDrain> {
  const { cluster, host } = input;
  return withClusterLease(steps, cluster, async () => {
    const plan = await steps.run(planStep, async () => {
      const [places, offered, desc] = await Promise.all([quick.clusterPlaces(cluster), quick.placementHosts(), quick.describeCluster(cluster)]);
      const offers = offered.filter((h) => h.name !== LOCAL_HOST && h.name !== host);
      const addressOf = (h: HostName): string | undefined => offers.find((o) => o.name === h)?.address;
      // One kind at a time: each new member goes where that kind has the fewest members, off the host.
      const placeAll = (kind: 'postgres' | 'etcd', names: string[]): MemberMove[] => {
        const all = places[kind];
        const taken = all.filter((m) => m.host !== host).map((m) => m.host);
        return all.filter((m) => m.host === host).map((m, k) => {
          const to = pickHostForMember(taken, offers);
          if (!to) refuse(`no other added host answers to take ${m.name} of ${cluster} (\`dbaas host list\`)`);
          taken.push(to);
          return { kind, from: m.name, to: names[k], host: to };
        });
      };
      const leavingPg = places.postgres.filter((m) => m.host === host).length;
      const leavingEtcd = places.etcd.filter((m) => m.host === host).length;
      const pgMoves = placeAll('postgres', nextMemberNames(places.namesInUse, leavingPg));
      const etcdMoves = placeAll('etcd', nextEtcdNames(places.namesInUse, leavingEtcd));
      if (pgMoves.length > 0 && !desc.leader) refuse(`cluster ${cluster} has no leader; cannot clone members off ${host}`);
      if (pgMoves.length > 0 && !desc.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
      const leaderHere = desc.members.find((m) => m.name === desc.leader && m.host === host)?.name;
      // A synchronous standby elsewhere has every commit: the switchover loses nothing and waits least.
      const elsewhere = desc.members.filter((m) => m.host !== host && !m.readOnly && m.running);
      const switchTo = leaderHere
        ? (elsewhere.find((m) => m.role === 'sync_standby') ?? elsewhere.find((m) => m.role === 'replica'))?.name ?? pgMoves[0]?.to
        : undefined;
      return {
        pgMoves, etcdMoves,
        readOnly: Object.fromEntries(desc.members.map((m) => [m.name, m.readOnly])),
        etcdNow: places.etcd.map((m) => m.name),
        frontDoors: places.frontDoors,
        ports: desc.ports, profile: desc.settings.profile,
        pgNow: places.postgres.map((m) => m.name),
        addresses: Object.fromEntries([...pgMoves, ...etcdMoves].map((m) => [m.host, addressOf(m.host)])) as Record<string, string | undefined>,
        leaderHere, switchTo,
      };
    });
    const addStep = (m: MemberMove): string => `add ${m.to} on ${m.host} for ${m.from} (child workflow ${replicaWorkflowIds.add(cluster, m.to)})`;
    const doorsNeeded = [...new Set(plan.pgMoves.map((m) => m.host))].filter((h) => !plan.frontDoors.includes(h));
    const doorStep = (h: HostName): string => `start a front door on ${h} (HAProxy, pgbouncer rw and ro)`;
    const removeDoor = `remove the front door on ${host}`;
    const switchStep = plan.leaderHere ? `switch over from ${plan.leaderHere} to ${plan.switchTo}` : undefined;
    const removeStep = (m: MemberMove): string => `remove ${m.from} (child workflow ${replicaWorkflowIds.remove(cluster, m.from)})`;
    const etcdStep = (m: MemberMove): string => `replace etcd member ${m.from} with ${m.to} on ${m.host}`;
    const hasDoor = plan.frontDoors.includes(host);
    steps.plan([
      ...plan.pgMoves.map(addStep), ...doorsNeeded.map(doorStep), ...(hasDoor ? [removeDoor] : []),
      ...(switchStep ? [switchStep] : []), ...plan.pgMoves.map(removeStep), ...plan.etcdMoves.map(etcdStep),
    ]);
    const publishing = (h: HostName): { publishOn?: string } => (plan.addresses[h] ? { publishOn: plan.addresses[h] } : {});

    for (const m of plan.pgMoves) {
      await steps.run(addStep(m), () =>
        executeChild(addReplica, {
          ...memberChildOptions(cluster),
          workflowId: replicaWorkflowIds.add(cluster, m.to),
          args: [{ cluster, member: m.to, readOnly: plan.readOnly[m.from] ?? false, cloneMethod: 'basebackup' as const, host: m.host }],
        }),
      );
    }
    const pgAfterAdd = [...plan.pgNow, ...plan.pgMoves.map((m) => m.to)];
    for (const h of doorsNeeded) {
      const door = await steps.run(doorStep(h), () => openFrontDoor(h, { cluster, members: pgAfterAdd, profile: plan.profile, ports: plan.ports!, ...publishing(h) }));
      if (door.metricsProblem) steps.note(doorStep(h), metricsNotRunningLine(cluster, `on ${h}: ${door.metricsProblem}`));
    }
    if (hasDoor) await steps.run(removeDoor, () => quick.removeFrontDoor({ cluster, host }));
    if (switchStep && plan.switchTo) {
      await steps.run(switchStep, () =>
        executeChild(switchover, { ...memberChildOptions(cluster), workflowId: `${hostWorkflowIds.drainCluster(cluster, host)}:switchover`, args: [{ cluster, to: plan.switchTo }] }),
      );
    }
    for (const m of plan.pgMoves) {
      await steps.run(removeStep(m), () =>
        executeChild(removeReplica, {
          ...memberChildOptions(cluster),
          workflowId: replicaWorkflowIds.remove(cluster, m.from),
          args: [{ cluster, member: m.from, drainTimeoutMs: input.drainTimeoutMs }],
        }),
      );
    }
    let etcdNow = plan.etcdNow;
    for (const m of plan.etcdMoves) {
      const withNew = [...etcdNow, m.to];
      await steps.run(etcdStep(m), async () => {
        await quick.addEtcdMember({ cluster, member: m.to, members: etcdNow });
        await onHost(m.host).quick.startEtcdMember({ cluster, member: m.to, members: withNew, joinExisting: true, ...publishing(m.host) });
        await waits.waitForEtcdHealthy({ cluster, members: withNew });
        await quick.removeEtcdMember({ cluster, member: m.from, members: withNew });
        await onHost(host).cleanup.stopMember({ cluster, member: m.from });
        await onHost(host).cleanup.removeMemberVolume({ cluster, member: m.from });
      });
      etcdNow = withNew.filter((n) => n !== m.from);
    }
    return {
      cluster,
      moves: [...plan.pgMoves, ...plan.etcdMoves],
      ...(plan.leaderHere && plan.switchTo ? { switchover: { from: plan.leaderHere, to: plan.switchTo } } : {}),
      frontDoorRemoved: hasDoor,
    };
  });
}
