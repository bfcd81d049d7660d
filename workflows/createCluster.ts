/**
 * CreateCluster: the plan of bringing up one HA PostgreSQL cluster. Each step that touches the
 * world is an activity; a worker killed anywhere resumes here with the same deterministic names.
 */
import { versionOf } from '../common/postgres-version';
import { settleAll } from './settle-all';
import {
  ApplicationFailure, CancellationScope, ParentClosePolicy, WorkflowIdReusePolicy, isCancellation, patched, startChild, workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { APP_DATABASE, APP_USER } from '../common/service-users';
import { HAPROXY_MEMBER } from '../common/resource-names';
import { haWorkflowIds } from '../common/workflow-ids';
import { clusterNameKey } from '../common/search-attributes';
import { memberPort } from '../common/ports';
import { poolSizes, sizedConnectionLimits } from '../common/pool-sizes';
import {
  PROFILES, SpecError, etcdMemberNames, memberNames, syncModeOf, validateSpec,
  type ConnectionInfo, type CreateClusterInput,
} from '../common/spec';
import { FIRST_GENERATION, patroniScope } from '../common/generations';
import { cleanup, longRunning, onHost, quick, waits } from './activity-options';
import { LOCAL_HOST, type HostName } from '../common/inventory';
import { layoutCluster, type ClusterLayout } from '../common/placement';
import { clusterWatch } from './clusterWatch';
import { leaseStep } from '../common/lease';
import {
  isRepositoryVolume, keptDataGeneration, keptDataMembers, keptDataProblem, keptGenerationToStart, keptRepositoryProblem, membersOnKeptData,
  type KeptData, type LeftGeneration,
} from '../common/kept-data';
import { innermostMessage } from '../common/error-chain';
import { metricsNotRunningLine, oneLine } from '../common/metrics-state';
import { failedReplicas, type FailedReplica } from '../common/restore';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { APP_ROLE_STEP, POOLER_AUTH_STEP } from './step-names';
import { onLeaderHost } from './leader-host';

/** The CA is made here and only here: a cluster has TLS iff it has a CA, and all its members are made after this step. */
const SECRETS_STEP = 'generate secrets and the TLS certificate authority';

/** Histories from before placement have no such step: they replay with every member on this machine. */
const PLACEMENT_PATCH = 'place-members-on-hosts';
const PLACE_STEP = 'place the members on hosts';

/** Histories from before have pg-0… on kept data, in the first generation: they replay so. */
const KEPT_MEMBERS_PATCH = 'create-on-kept-members-in-their-generation';

/**
 * Histories from before volumes carried their generation start every kept data volume, in the
 * generation of the serving record: they replay so (their look-up reported that generation on each).
 */
const KEPT_GENERATIONS_PATCH = 'create-on-kept-data-of-the-serving-generation';

/** Histories from before the exporters have no metrics step (`cluster add-metrics` adds them). */
const METRICS_PATCH = 'start-the-exporters';
const METRICS_STEP = 'start the exporters (monitor role, a metrics container beside each HAProxy, probed)';
/** Histories from before failed the create (and removed the cluster) when the exporters did not start. */
const METRICS_NON_FATAL_PATCH = 'exporters-do-not-fail-the-create';

/**
 * Histories from before ran the stanza after HAProxy's backends were up, and the exporters after
 * the pooled endpoints answered: they then closed the create, seconds after the cluster served.
 * Now the stanza starts once a leader runs (beside HAProxy, the poolers and the clones) and the
 * exporters once HAProxy routes (beside the proofs).
 */
const EARLY_TAIL_PATCH = 'stanza-and-exporters-beside-the-proofs';
/**
 * Histories from before made the backup repository (0.9 s on the repository host) before etcd
 * started; etcd needs only the network and the secrets, and the repository is needed first by the
 * members' containers: it is made beside etcd now.
 */
const REPOSITORY_BESIDE_ETCD_PATCH = 'backup-repository-beside-etcd';
const STANZA_STEP = 'create the backup stanza (stanza-create, check)';

export async function createCluster(input: CreateClusterInput): Promise<ConnectionInfo> {
  // Registered first, so the progress query answers even when the spec is refused.
  const steps = new Steps('create', input.name, ['validate the spec', leaseStep(input.name)]);
  await steps.run('validate the spec', async () => {
    try {
      validateSpec(input);
      if (input.restoreFrom) checkNames({ clusters: [input.restoreFrom.source] });
    } catch (err) {
      if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'SpecError');
      throw err;
    }
  });
  const placing = patched(PLACEMENT_PATCH);
  // The rest of the plan names the members, known once the kept data is (createUnderLease).
  steps.plan(['check the name is free', 'look for data kept from before']);

  return withClusterLease(steps, input.name, () => createUnderLease(input, steps, placing));
}

/** The steps after the look-up for kept data, in order. */
function planAfterLookUp(input: CreateClusterInput, placing: boolean, members: string[], generation: number, metrics: boolean, left: LeftGeneration[], early: boolean): string[] {
  const etcd = etcdMemberNames(input.etcdMembers);
  const [first, ...replicas] = members;
  const backups = input.backups !== false;
  const restoreSource = input.restoreFrom?.source;
  return [
    ...(placing ? [PLACE_STEP] : []),
    SECRETS_STEP,
    'allocate host ports',
    'create network',
    ...(backups ? ['create the backup repository'] : []),
    `start etcd (${etcd.join(', ')})`,
    ...(restoreSource ? [restoreStep(first, restoreSource)] : []),
    'wait for etcd quorum',
    ETCD_AUTH_STEP,
    ...(generation > FIRST_GENERATION ? [grantStep(input.name, generation)] : []),
    ...left.filter((g) => g.generation > generation).map((g) => forgetStep(input.name, g)),
    `start ${first}`,
    `wait for ${first} to claim the bootstrap`,
    ...replicas.map((m) => `start ${m}`),
    'wait for a leader',
    ...(restoreSource ? ['remove the restore helper'] : []),
    ...(backups && early ? [STANZA_STEP] : []),
    `start ${HAPROXY_MEMBER}`,
    'start pgbouncer (rw, ro)',
    ...replicas.map((m) => `wait for ${m} streaming`),
    'wait for HAProxy backends',
    proofStepFor(replicas),
    ...(metrics && early ? [METRICS_STEP] : []),
    APP_ROLE_STEP,
    POOLER_AUTH_STEP,
    'query through the pooled endpoints',
    ...(metrics && !early ? [METRICS_STEP] : []),
    ...(backups && !early ? [STANZA_STEP] : []),
    ...(input.sync ? ['wait for a synchronous standby'] : []),
    'start the cluster watch',
  ];
}

/**
 * The members, their generation, and the kept data left unstarted. On data kept by `delete
 * --keep-data` the members start on their kept volumes under the names they had (after a
 * blue/green upgrade's finish: pg-2, pg-3…) and in the generation they had, the serving one the
 * delete kept recorded, so under its Patroni scope (NAME-g2): there the kept etcd holds the data's
 * initialize key (its system identifier), and every later operation reads the serving
 * generation's members (Inventory.members). Going back to the first generation instead would need
 * that record rewritten and the keys under NAME-g2 deleted (the next upgrade's generation 2 would
 * find this database's initialize key there); keeping the generation needs neither. Kept data of
 * another generation (both were kept) stays as it is (common/kept-data.ts keptGenerationToStart).
 */
function membersOf(input: CreateClusterInput, kept: KeptData): { members: string[]; generation: number; left: LeftGeneration[] } {
  if (keptDataMembers(kept.volumes).length === 0 || !patched(KEPT_MEMBERS_PATCH)) return { members: memberNames(input.replicas), generation: FIRST_GENERATION, left: [] };
  // Without the serving record (a history from before), the look-up's volumes all carry the serving generation.
  const choice = keptGenerationToStart(input.name, kept.volumes, kept.serving ?? keptDataGeneration(kept.volumes));
  // Refused by the look-up already (keptDataProblem).
  if ('problem' in choice) throw ApplicationFailure.nonRetryable(choice.problem, 'SpecError');
  return { members: membersOnKeptData(input.replicas, kept.volumes, choice.members), generation: choice.generation, left: choice.left };
}

/** Everything after the spec check: held under the cluster's lease (also by a restore's child create). */
async function createUnderLease(input: CreateClusterInput, steps: Steps, placing: boolean): Promise<ConnectionInfo> {
  const cluster = input.name;
  const etcd = etcdMemberNames(input.etcdMembers);
  const profile = PROFILES[input.profile];
  const backups = input.backups !== false;
  const restoreSource = input.restoreFrom?.source;
  // A restore keeps its restored leader when replicas fail (they are recorded here); a plain
  // create fails as a whole.
  const failed: FailedReplica[] | undefined = restoreSource ? [] : undefined;
  const replica = (member: string, name: string, fn: () => Promise<unknown>): Promise<void> => replicaStep(steps, failed, member, name, fn);
  await steps.run('check the name is free', () => quick.assertClusterAbsent(cluster));
  // Data kept by `delete --keep-data` is reused, and a failed create must leave it as it found it.
  const choosing = patched(KEPT_GENERATIONS_PATCH);
  const kept = await steps.run('look for data kept from before', async () => {
    const k: KeptData = { volumes: await quick.clusterVolumes(cluster), secrets: await quick.clusterSecretsExist(cluster) };
    // Which generation's kept data starts when both were kept.
    if (choosing && keptDataMembers(k.volumes).length > 0) k.serving = await quick.servingGeneration(cluster);
    const problem = keptDataProblem(input, k) ?? (input.backupTo && k.volumes.some(isRepositoryVolume) ? keptRepositoryProblem(cluster) : undefined);
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
    return k;
  });
  const keptRepository = kept.volumes.some(isRepositoryVolume);
  const { members, generation, left } = membersOf(input, kept);
  const [first, ...replicas] = members;
  const metrics = patched(METRICS_PATCH);
  const metricsNonFatal = metrics && patched(METRICS_NON_FATAL_PATCH);
  const early = patched(EARLY_TAIL_PATCH);
  steps.plan(planAfterLookUp(input, placing, members, generation, metrics, left, early));
  // Which host each member goes to: before anything is made, so a refusal leaves nothing behind.
  const layout = placing
    ? await steps.run(PLACE_STEP, async () => {
      const offers = await quick.placementHosts();
      const l = layoutCluster({
        postgres: members, etcd, zoneSpread: input.zoneSpread, allowColocate: input.allowColocate,
        backups: backups ? input.backupTo?.location.type ?? 'volume' : null, restore: restoreSource !== undefined, keptData: kept.volumes.length > 0,
      }, offers);
      if ('problem' in l) throw ApplicationFailure.nonRetryable(l.problem, 'SpecError');
      return l;
    })
    : undefined;
  const place = hostPlacement(layout);
  // Set once stanza-create may have written to an S3 bucket: only then does a compensation delete the stanza there.
  let stanzaStarted = false;
  // Why the exporters did not start, when they did not: the cluster serves without them.
  let metricsProblem: string | undefined;
  try {
    const createRepository = (): Promise<void> | undefined => backups
      ? steps.run('create the backup repository', () =>
        quick.ensureBackupRepository({ cluster, ...(input.backupTo ? { repository: input.backupTo } : {}), kept: keptRepository, version: versionOf(input) }))
      : undefined;
    const repositoryBesideEtcd = patched(REPOSITORY_BESIDE_ETCD_PATCH);
    const [, ports] = await settleAll([
      steps.run(SECRETS_STEP, async () => {
        await quick.ensureClusterSecrets(cluster);
        await quick.ensureClusterCa(cluster);
      }),
      steps.run('allocate host ports', () => quick.allocatePorts(cluster)),
      steps.run('create network', () =>
        layout?.overlayOn ? onHost(layout.overlayOn).quick.createOverlayNetwork(cluster) : quick.createClusterNetwork(cluster)),
      repositoryBesideEtcd ? undefined : createRepository(),
    ]);
    await settleAll([
      repositoryBesideEtcd ? createRepository() : undefined,
      (async () => {
        await steps.run(`start etcd (${etcd.join(', ')})`, () =>
          settleAll(etcd.map((m) => place.on(m).quick.startEtcdMember({ cluster, member: m, members: etcd, ...place.publishing(m) }))),
        );
        await steps.run('wait for etcd quorum', () => waits.waitForEtcdHealthy({ cluster, members: etcd }));
        // Before any Patroni starts: it then logs in from its first request on.
        await steps.run(ETCD_AUTH_STEP, () => quick.enableEtcdAuth({ cluster, members: etcd }));
        // The kept etcd holds the grant the upgrade made, unless it ran without authentication
        // then (a cluster made before it): enableEtcdAuth grants the first generation's keys only.
        if (generation > FIRST_GENERATION) {
          await steps.run(grantStep(cluster, generation), () => quick.grantGenerationKeys({ cluster, members: etcd, scope: patroniScope(cluster, generation) }));
        }
        // A later generation left unstarted (an upgrade that had not cut over, or was put back)
        // leaves its Patroni state under its scope in the kept etcd: the next upgrade builds that
        // generation anew there, and would find this state's initialize key. Its data stays.
        for (const g of left.filter((x) => x.generation > generation)) {
          await steps.run(forgetStep(cluster, g), () =>
            quick.grantGenerationKeys({ cluster, members: etcd, scope: patroniScope(cluster, g.generation), revoke: true }));
        }
      })(),
      // A restored cluster's first member gets its data from a one-shot helper before it starts:
      // Patroni then takes the promoted data directory over as the new cluster's leader.
      input.restoreFrom
        ? steps.run(restoreStep(first, input.restoreFrom.source), () =>
          longRunning.restoreMemberData({ cluster, member: first, restoreFrom: input.restoreFrom!, ...(input.postgresVersion !== undefined ? { version: input.postgresVersion } : {}) }),
        )
        : undefined,
    ]);
    // Members with data kept by `delete --keep-data` start together with the first: the one whose
    // data is newest (the leader at the delete, maybe not pg-0) must be there for Patroni to pick
    // it; started later, it would find pg-0 promoted on older data.
    const withData = keptDataMembers(kept.volumes).filter((m) => replicas.includes(m));
    // On an added host a member publishes its ports on the host's address; here, its direct port on 127.0.0.1.
    const startMember = (m: string) => {
      const publishing = place.publishing(m);
      return place.on(m).quick.startPostgresMember({
        spec: input, member: m, ...(generation > FIRST_GENERATION ? { generation } : {}),
        ...(publishing.publishOn ? publishing : { directPort: memberPort(ports.rw, m) }),
      });
    };
    await settleAll([
      steps.run(`start ${first}`, () => startMember(first)),
      ...withData.map((m) => replica(m, `start ${m}`, () => startMember(m))),
    ]);
    // Only the first member may bootstrap (a predictable leader, no race for the initialize key);
    // once it holds the key, replicas can start: they wait for the leader and clone from it.
    await steps.run(`wait for ${first} to claim the bootstrap`, () => waits.waitForBootstrapClaimed({ cluster, member: first }));
    const [leader] = await settleAll([
      (async () => {
        const l = await steps.run('wait for a leader', () => waits.waitForLeader({ cluster, members }));
        if (restoreSource) await steps.run('remove the restore helper', () => quick.removeRestoreHelper(cluster));
        return l;
      })(),
      ...replicas.filter((m) => !withData.includes(m)).map((m) => replica(m, `start ${m}`, () => startMember(m))),
    ]);
    // On kept data the leader may be another member than the first: the others follow it.
    const followers = members.filter((m) => m !== leader);
    if (leader !== first) {
      steps.skip(`wait for ${leader} streaming`, `${leader} leads: its kept data was the newest`);
      steps.plan([`wait for ${first} streaming`]);
    }
    // `check` proves that the leader's archive_command reaches the repository.
    const createStanza = (): Promise<unknown> => steps.run(STANZA_STEP, () => {
      stanzaStarted = true;
      return onLeaderHost(cluster, (on) => on.waits.createStanza(cluster));
    });
    // The poolers already know the monitor role (its password is among the secrets they were started with).
    const exporters = async (): Promise<void> => {
      if (metricsNonFatal) {
        metricsProblem = await startExporters(steps, cluster, () => place.onFrontDoors((on, publishing) => on.quick.startMetrics({ cluster, ...publishing })), {
          rwPort: ports.rw, leader, frontDoors: place.frontDoors,
        });
      } else if (metrics) {
        await steps.run(METRICS_STEP, async () => {
          await quick.ensureMonitorRole({ cluster, rwPort: ports.rw });
          await place.onFrontDoors((on, publishing) => on.quick.startMetrics({ cluster, ...publishing }));
          await waits.verifyMetrics({ cluster, member: leader });
        });
      }
    };
    // HAProxy, the poolers, the clones, then the proofs and the exporters; the replicas that joined.
    const serveAndProve = async (): Promise<string[]> => {
      // Pools that fit the max_connections the size gives (a small --memory gives fewer than 100).
      const pool = poolSizes(sizedConnectionLimits(input.size));
      // HAProxy and the poolers start while the replicas clone, not during the leader's initdb
      // (on a small machine every container start competes with it for CPU).
      await settleAll([
        steps.run(`start ${HAPROXY_MEMBER}`, () =>
          place.onFrontDoors((on, publishing) => on.quick.startHaproxy({ cluster, members, profile: profile.name, ports, ...publishing }))),
        steps.run('start pgbouncer (rw, ro)', () =>
          place.onFrontDoors((on, publishing) => settleAll((['rw', 'ro'] as const).map((kind) => on.quick.startPgbouncer({ cluster, kind, ports, pool, ...publishing }))))),
        // A clone takes as long as it takes: the wait fails only once the clone stops progressing.
        ...followers.map((m) =>
          replica(m, `wait for ${m} streaming`, () => longRunning.waitForReplicaStreaming({ cluster, member: m, members, maxLagBytes: 0 })),
        ),
      ]);
      const joinedNow = followers.filter((m) => !failed?.some((f) => f.member === m));
      if (failed && failed.length > 0) {
        // Gone, so `replica add` can make members in their place, and out of HAProxy (its config
        // is rendered from the members that have a container).
        await steps.run(`remove the replicas that failed (${failed.map((f) => f.member).join(', ')}); the restored leader stays`, async () => {
          for (const f of failed) {
            await cleanup.stopMember({ cluster, member: f.member });
            await cleanup.removeMemberVolume({ cluster, member: f.member });
          }
          await quick.reconfigureHaproxy({ cluster, profile: input.profile, statsPort: ports.stats });
        });
      }
      await steps.run('wait for HAProxy backends', () =>
        waits.waitForHaproxyBackends({ cluster, statsPort: ports.stats, replicas: joinedNow.length, ...(early ? { streaming: joinedNow } : {}) }),
      );
      const proofStep = proofStepFor(joinedNow);
      if (proofStep !== proofStepFor(followers)) steps.skip(proofStepFor(followers), 'no replica joined');
      await settleAll([
        steps.run(proofStep, () =>
          waits.verifyReadWrite({ cluster, ports, token: `${workflowInfo().workflowId}/${workflowInfo().runId}`, expectReplica: joinedNow.length > 0 }),
        ),
        (async () => {
          // The app role first: its database needs the pooler's lookup function too.
          await steps.run(APP_ROLE_STEP, () => quick.ensureAppRole({ cluster, rwPort: ports.rw }));
          await steps.run(POOLER_AUTH_STEP, () => quick.ensurePoolerAuth({ cluster, rwPort: ports.rw }));
          await steps.run('query through the pooled endpoints', () => waits.verifyPooledEndpoints({ cluster, ports, withReplicas: joinedNow.length > 0 }));
          // Off the first write's path.
          if (!early) await exporters();
        })(),
        early ? exporters() : undefined,
        backups && !early ? createStanza() : undefined,
      ]);
      return joinedNow;
    };
    // The stanza once a leader runs, beside all of that: stanza-create and check take 3-6 s on 2
    // busy cores, and ended the create when they came after the first write (measured: the last
    // step, 1.6 s after the exporters); they gate nothing else.
    const [, joined] = await settleAll([backups && early ? createStanza() : undefined, serveAndProve()]);

    if (input.sync && joined.length === 0) {
      // A restore whose replicas all failed: no standby can be synchronous until some are added.
      steps.skip('wait for a synchronous standby', 'no replica joined');
    } else if (input.sync) {
      // Without this, create would return before any commit is synchronous.
      await steps.run('wait for a synchronous standby', () => waits.waitForSyncApplied({ cluster, mode: syncModeOf(input) }));
    }
    await steps.run('start the cluster watch', () => startClusterWatch(cluster, input.profile, input.postgresVersion));

    const [host = '127.0.0.1', ...moreHosts] = place.frontDoorAddresses;
    return {
      cluster,
      host,
      ...(moreHosts.length > 0 ? { hosts: [host, ...moreHosts] } : {}),
      ports,
      user: APP_USER,
      database: APP_DATABASE,
      members: [leader, ...joined],
      leader,
      statsUrl: `http://${host}:${ports.stats}/`,
      ...(failed && failed.length > 0 ? { failedReplicas: failedReplicas(cluster, failed) } : {}),
      ...(left.length > 0 ? { keptDataLeft: { started: generation, left } } : {}),
      ...(metricsProblem !== undefined ? { metricsProblem } : {}),
    };
  } catch (err) {
    steps.skipPending();
    if (!input.keepOnFailure) {
      // Nothing half-created, nothing kept lost: remove what this run made (no container or
      // network existed when it started), never the volumes or secrets it found.
      const keep = kept.volumes.map((v) => v.name);
      await CancellationScope.nonCancellable(async () => {
        await steps.run(keep.length > 0 ? 'compensate: remove containers, network, new volumes (kept data stays)' : 'compensate: remove containers, network, volumes', async () => {
          await cleanup.removeCluster({ cluster, keepData: true });
          await cleanup.removeClusterVolumes({ cluster, keep });
        });
        await steps.run(kept.secrets ? 'compensate: release ports (kept secrets stay)' : 'compensate: release ports and secrets', async () => {
          await cleanup.releasePorts(cluster);
          if (!kept.secrets) await cleanup.deleteClusterSecrets(cluster);
          // The repository this run made is gone with the volumes (an S3 one: its stanza is
          // deleted; on the repository host: its stanza and server, made before any member
          // started), and so are its passphrase, settings and S3 credentials.
          if (!keptRepository) {
            if (input.backupTo && (stanzaStarted || input.backupTo.location.type === 'host')) await cleanup.purgeRepositoryStanza(cluster);
            await cleanup.deleteBackupSettings(cluster);
          }
        });
      });
    }
    throw err;
  }
}

/**
 * The steps on each member's host (its worker's queue) and what it publishes where; without a
 * layout (a history from before placement) everything runs on this machine as it always did.
 */
function hostPlacement(layout: ClusterLayout | undefined) {
  const hostOf = (m: string): HostName => layout?.postgres[m] ?? layout?.etcd[m] ?? LOCAL_HOST;
  const publishingOn = (h: HostName): { publishOn?: string } => (layout?.addresses[h] ? { publishOn: layout.addresses[h] } : {});
  const frontDoors = layout?.frontDoors ?? [LOCAL_HOST];
  return {
    frontDoors,
    on: (m: string) => onHost(hostOf(m)),
    publishing: (m: string) => publishingOn(hostOf(m)),
    /** Run `fn` with each front door's steps and publishing (one host on this machine alone). */
    onFrontDoors: <T>(fn: (steps: ReturnType<typeof onHost>, publishing: { publishOn?: string }) => Promise<T>) =>
      settleAll(frontDoors.map((h) => fn(onHost(h), publishingOn(h)))),
    /** The front doors' addresses; none on this machine (127.0.0.1). */
    frontDoorAddresses: frontDoors.flatMap((h) => publishingOn(h).publishOn ?? []),
  };
}

/**
 * The exporters: the monitor role, a metrics container beside each HAProxy (`startMetrics`), a
 * probe. A failure does not fail the create: the cluster serves without metrics. The step stays
 * failed in the progress and the Web UI (its activity failed, then the removal ran), the
 * containers it started go (a half-working one would look running), and the reason comes back
 * for the result; `cluster add-metrics` adds them later. A cancellation still cancels the create.
 */
async function startExporters(
  steps: Steps, cluster: string, startMetrics: () => Promise<unknown>, i: { rwPort: number; leader: string; frontDoors: HostName[] },
): Promise<string | undefined> {
  try {
    await steps.run(METRICS_STEP, async () => {
      try {
        await quick.ensureMonitorRole({ cluster, rwPort: i.rwPort });
        await startMetrics();
        await waits.verifyMetrics({ cluster, member: i.leader });
      } catch (err) {
        if (!isCancellation(err)) await cleanup.removeMetrics({ cluster, hosts: i.frontDoors });
        throw err;
      }
    });
    return undefined;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const reason = oneLine(innermostMessage(err));
    steps.note(METRICS_STEP, metricsNotRunningLine(cluster, reason));
    return reason;
  }
}

const ETCD_AUTH_STEP = 'enable etcd authentication (root, and a Patroni user limited to the cluster\'s keys)';

const grantStep = (cluster: string, generation: number): string =>
  `let the kept data's generation ${generation} keep its state in etcd (${patroniScope(cluster, generation)})`;

const forgetStep = (cluster: string, g: LeftGeneration): string =>
  `forget generation ${g.generation}'s state in etcd (${patroniScope(cluster, g.generation)}); its kept data stays, unused`;

/** The proof step: through ro too when there are replicas. */
function proofStepFor(replicas: string[]): string {
  return replicas.length > 0 ? 'write via rw, read via ro' : 'write and read via rw';
}

/**
 * One replica's step. With `failed` (a restore), a replica that fails is recorded, not thrown:
 * the restored leader (the slow, valuable part) stays and replicas can be added later; its later
 * steps are skipped. Without (a plain create), a failure fails the create as before.
 */
async function replicaStep(
  steps: Steps, failed: FailedReplica[] | undefined, member: string, name: string, fn: () => Promise<unknown>,
): Promise<void> {
  if (failed?.some((f) => f.member === member)) return steps.skip(name, `${member} failed before`);
  try {
    await steps.run(name, fn);
  } catch (err) {
    if (!failed || isCancellation(err)) throw err;
    failed.push({ member, reason: innermostMessage(err) });
  }
}

function restoreStep(member: string, source: string): string {
  return `restore ${member}'s data from ${source}'s backups (one-shot helper container)`;
}

/**
 * The ClusterWatch outlives this workflow (ABANDON). Already running (a create that resumed after
 * a crash, or `cluster watch`) is fine: one watch per cluster.
 */
async function startClusterWatch(cluster: string, profile: CreateClusterInput['profile'], postgresVersion: CreateClusterInput['postgresVersion']): Promise<void> {
  try {
    await startChild(clusterWatch, {
      workflowId: haWorkflowIds.clusterWatch(cluster),
      args: [{ cluster, profile, ...(postgresVersion !== undefined ? { postgresVersion } : {}) }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
