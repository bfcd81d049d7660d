/**
 * ClusterWatch: one long-running workflow per cluster (id cluster-watch:<cluster>). It polls the
 * cluster, records what changed as events in a bounded log (query `events`), heals what the rules
 * in common/healing.ts allow, and continues as new every so many polls to keep its history small.
 * CreateCluster starts it; DeleteCluster cancels it before removing anything.
 */
import {
  ApplicationFailure, continueAsNew, defineQuery, defineSignal, isCancellation, patched, proxyActivities, setHandler, sleep, startChild, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  DEFAULT_LAG_THRESHOLD_BYTES, appendBounded, describeStart, diffSnapshots, initialMemory,
  type ClusterEvent, type ClusterSnapshot, type DiffMemory, type EventKind,
} from '../common/events';
import { decideHealing, emptyHealingMemory, watchTiming, type HealAction, type HealingMemory, type HealingRules } from '../common/healing';
import type { Progress } from '../common/progress';
import { innermostMessage } from '../common/error-chain';
import type { ProfileName } from '../common/spec';
import { checkNames } from './input-checks';
import { acquireLease, LEASE_FAILURES } from './lease';
import { progressQuery } from './steps';
import { decideHostLoss, emptyHostLossMemory, fenced, retire, type HostLossAction, type HostLossMemory } from '../common/host-loss';
import { DEFAULT_REPLACE_AFTER_S } from '../common/spec';
import { haWorkflowIds } from '../common/workflow-ids';
import { memberChildOptions } from './children';
import { hostLossOutcomeSignal } from './host-loss-signals';
import { replaceLostMembers } from './replaceLostMembers';
import { postgresVersionProblem, type PostgresVersion } from '../common/postgres-version';
import { SCRAPE_REFRESH_POLLS, scrapeTargetsKey } from '../common/scrape-targets';

/** Histories from before lost hosts were replaced never decide about them. */
const HOST_LOSS_PATCH = 'replace-lost-hosts';
/** Histories from before Prometheus never publish scrape targets. */
const SCRAPE_TARGETS_PATCH = 'scrape-targets';

export const eventsQuery = defineQuery<ClusterEvent[]>('events');
/** Other workflows' reports for the cluster's event log (a restore drill's outcome). */
export const recordEventSignal = defineSignal<[{ kind: EventKind; message: string }]>('recordEvent');

/** Events kept in the log (the newest). */
export const EVENT_LOG_SIZE = 200;
/** Polls per run before continue-as-new (about 10 history events each). */
export const POLLS_PER_RUN = 200;
/** Consecutive polls without any member container after which the watch ends by itself. */
const GONE_POLLS = 3;

/** What one run hands to the next through continue-as-new. */
export interface WatchCarry {
  events: ClusterEvent[];
  last?: ClusterSnapshot;
  diff: DiffMemory;
  healing: HealingMemory;
  polls: number;
  /** The last observe error reported (so a lasting outage is one event, not one per poll). */
  lastError?: string;
  /** Why the last heal waited (another operation held the lease), so it is said once. */
  healDeferred?: string;
  /** Lost hosts and retired members (common/host-loss.ts); absent in carries from before. */
  hostLoss?: HostLossMemory;
  /** The last fence failure reported (said once). */
  fenceError?: string;
  /** The snapshot key (common/scrape-targets.ts) the scrape targets were last published for, at which poll. */
  scrape?: { key: string; poll: number };
  /** The last failure to publish them (said once). */
  scrapeError?: string;
}

export interface ClusterWatchInput {
  cluster: string;
  profile: ProfileName;
  /** The cluster's PostgreSQL version: Patroni 4 (17) runs `fast` with a longer ttl. Absent: 15. */
  postgresVersion?: PostgresVersion;
  /** Overrides for tests; by default from the profile (watchTiming). */
  intervalMs?: number;
  rules?: Partial<HealingRules>;
  lagThresholdBytes?: number;
  pollsPerRun?: number;
  carry?: WatchCarry;
}

export interface ClusterWatchResult {
  cluster: string;
  reason: string;
  events: number;
}

// Observing must not fail the watch: few retries, and the loop reports a lasting failure as an event.
const observe = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds', // kept alive by the worker (worker/keep-alive.ts)
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 2 },
});
const act = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

/** intervalMs 0 (tests with scripted observations) polls back to back: no timer round trip. */
async function pauseBetweenPolls(intervalMs: number): Promise<void> {
  if (intervalMs > 0) await sleep(intervalMs);
}

export async function clusterWatch(input: ClusterWatchInput): Promise<ClusterWatchResult> {
  const { cluster } = input;
  checkNames({ clusters: [cluster] });
  const versionProblem = postgresVersionProblem(input.postgresVersion);
  if (versionProblem) throw ApplicationFailure.nonRetryable(versionProblem, 'SpecError');
  const timing = watchTiming(input.profile, input.postgresVersion);
  const intervalMs = input.intervalMs ?? timing.intervalMs;
  const rules: HealingRules = { ...timing.rules, ...input.rules };
  const lagThresholdBytes = input.lagThresholdBytes ?? DEFAULT_LAG_THRESHOLD_BYTES;
  const pollsPerRun = input.pollsPerRun ?? POLLS_PER_RUN;
  // A run without polls would continue as new forever.
  if (!(pollsPerRun >= 1)) throw ApplicationFailure.nonRetryable('pollsPerRun must be ≥ 1', 'SpecError');
  const carry: WatchCarry = input.carry ?? { events: [], diff: {}, healing: emptyHealingMemory(), polls: 0 };
  let goneFor = 0;
  let status = 'starting';

  // Workflow time (deterministic: the workflow task's time) stamps the watch's own actions.
  const now = (): string => new Date(Date.now()).toISOString();
  const record = (e: ClusterEvent | ClusterEvent[]): void => {
    carry.events = appendBounded(carry.events, Array.isArray(e) ? e : [e], EVENT_LOG_SIZE);
  };
  const note = (kind: EventKind, message: string, member?: string): void => record({ at: now(), kind, member, message });

  setHandler(eventsQuery, () => carry.events);
  setHandler(recordEventSignal, (e) => note(e.kind, e.message));
  setHandler(hostLossOutcomeSignal, (o) => {
    note(o.ok ? 'host-replaced' : 'heal-failed', o.message);
    carry.hostLoss = retire(carry.hostLoss ?? emptyHostLossMemory(), o.host, o.retired);
  });
  setHandler(progressQuery, (): Progress => ({
    operation: 'watch',
    cluster,
    steps: [{ name: `watch ${cluster} every ${intervalMs / 1000} s`, state: 'running', detail: `${carry.polls} polls, ${carry.events.length} events; ${status}` }],
  }));

  const heal = async (a: HealAction): Promise<void> => {
    if (a.kind === 'skip') {
      note('heal-skipped', a.reason, a.member);
      return;
    }
    try {
      if (a.kind === 'restart') {
        const r = await act.restartMemberContainer({ cluster, member: a.member, finishedAt: a.finishedAt });
        if (r.restarted) note('heal-restart', `started ${a.member} again (${a.reason})`, a.member);
        else note('heal-skipped', `did not start ${a.member}: ${r.reason ?? 'changed meanwhile'}`, a.member);
      } else {
        const r = await act.reinitializeMember({ cluster, member: a.member });
        if (r.accepted) note('heal-reinitialize', `reinitializing ${a.member} from the leader (${a.reason}): ${r.answer}`, a.member);
        else note('heal-failed', `Patroni refused to reinitialize ${a.member} (${a.reason}): ${r.answer}`, a.member);
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      note('heal-failed', `${a.kind} ${a.member} failed: ${innermostMessage(err)}`, a.member);
    }
  };

  /**
   * Healing changes the cluster, so it holds the lease; it never waits for it (an operation may
   * stop members on purpose): the heal is deferred to a later poll, with the memory as before.
   * Once held, it looks again: the operation that held the lease may have changed everything.
   */
  const healUnderLease = async (): Promise<void> => {
    let lease: Awaited<ReturnType<typeof acquireLease>>;
    try {
      lease = await acquireLease(cluster, 'heal', { wait: false });
    } catch (err) {
      const failure = err as { type?: string; message?: string };
      if (!(Object.values(LEASE_FAILURES) as string[]).includes(failure.type ?? '')) throw err;
      const why = `healing deferred: ${failure.message ?? 'the lease is taken'}`;
      if (carry.healDeferred !== why) note('heal-skipped', why);
      carry.healDeferred = why;
      return;
    }
    carry.healDeferred = undefined;
    try {
      let fresh: ClusterSnapshot;
      try {
        fresh = await observe.observeCluster({ cluster });
      } catch (err) {
        if (isCancellation(err)) throw err;
        note('watch-error', `cannot observe ${cluster} before healing: ${innermostMessage(err)}`);
        return;
      }
      const h = decideHealing(fresh, carry.healing, rules);
      carry.healing = h.memory;
      for (const a of h.actions) await heal(a);
    } finally {
      await lease.release();
    }
  };

  /** A lost host's members re-created elsewhere (a workflow of its own), a replaced member fenced when its host is back. */
  const onHostLoss = async (a: HostLossAction): Promise<void> => {
    if (a.kind === 'report') {
      note('heal-skipped', a.reason);
    } else if (a.kind === 'replace') {
      const workflowId = haWorkflowIds.replaceLostMembers(cluster, a.host, a.since);
      try {
        await startChild(replaceLostMembers, { ...memberChildOptions(cluster), workflowId, args: [{ cluster, host: a.host, members: a.members, since: a.since }] });
        note('host-replace', `host ${a.host} lost since ${new Date(a.since).toISOString()}: re-creating ${a.members.join(', ')} on other hosts (workflow ${workflowId})`);
      } catch (err) {
        if (isCancellation(err)) throw err;
        note('heal-failed', `could not start ${workflowId}: ${innermostMessage(err)}`);
      }
    } else {
      let lease: Awaited<ReturnType<typeof acquireLease>>;
      try {
        lease = await acquireLease(cluster, 'fence', { wait: false });
      } catch (err) {
        const failure = err as { type?: string };
        if (!(Object.values(LEASE_FAILURES) as string[]).includes(failure.type ?? '')) throw err;
        return; // the next poll tries again
      }
      try {
        const r = await act.fenceRetiredMember({ cluster, member: a.member, host: a.host });
        carry.hostLoss = fenced(carry.hostLoss ?? emptyHostLossMemory(), a.member);
        carry.fenceError = undefined;
        note('member-fenced', `host ${a.host} answers again: removed ${a.member}, replaced while the host was lost (${r.removed.join(', ') || 'already gone'})`, a.member);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const msg = `fencing ${a.member} on ${a.host} failed: ${innermostMessage(err)}`;
        if (carry.fenceError !== msg) note('heal-failed', msg, a.member);
        carry.fenceError = msg;
      } finally {
        await lease.release();
      }
    }
  };

  /**
   * Prometheus's target file follows the members: at the watch's start, on every change of the
   * members or their addresses, and every SCRAPE_REFRESH_POLLS polls. A failure waits for the
   * next of these rather than being retried every poll.
   */
  const publishScrapeTargets = async (snap: ClusterSnapshot): Promise<void> => {
    const key = scrapeTargetsKey(snap);
    if (carry.scrape?.key === key && carry.polls - carry.scrape.poll < SCRAPE_REFRESH_POLLS) return;
    if (!patched(SCRAPE_TARGETS_PATCH)) return;
    carry.scrape = { key, poll: carry.polls };
    try {
      await observe.publishScrapeTargets(cluster);
      carry.scrapeError = undefined;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const msg = `cannot publish the scrape targets of ${cluster}: ${innermostMessage(err)}`;
      if (carry.scrapeError !== msg) note('watch-error', msg);
      carry.scrapeError = msg;
    }
  };

  for (let i = 0; i < pollsPerRun; i++) {
    let snap: ClusterSnapshot;
    try {
      snap = await observe.observeCluster({ cluster });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const msg = innermostMessage(err);
      if (carry.lastError !== msg) note('watch-error', `cannot observe ${cluster}: ${msg}`);
      carry.lastError = msg;
      status = `observe failed: ${msg}`;
      await pauseBetweenPolls(intervalMs);
      continue;
    }
    carry.lastError = undefined;
    carry.polls++;

    if (snap.members.length === 0) {
      // Deleted without DeleteCluster (or by an older dbaas): nothing left to watch.
      if (++goneFor >= GONE_POLLS) {
        note('watch-ended', `no member containers left in ${cluster}: the watch ends`);
        return { cluster, reason: 'cluster gone', events: carry.events.length };
      }
    } else {
      goneFor = 0;
      const prev = carry.last;
      if (carry.last === undefined) {
        record(describeStart(snap));
        carry.diff = initialMemory(snap);
      } else {
        const d = diffSnapshots(carry.last, snap, carry.diff, { lagThresholdBytes });
        record(d.events);
        carry.diff = d.memory;
      }
      carry.last = snap;
      await publishScrapeTargets(snap);
      if ((snap.unreachableHosts !== undefined || carry.hostLoss !== undefined) && patched(HOST_LOSS_PATCH)) {
        const loss = decideHostLoss(prev, snap, carry.hostLoss ?? emptyHostLossMemory(), snap.replaceAfterS ?? DEFAULT_REPLACE_AFTER_S);
        carry.hostLoss = loss.memory;
        for (const a of loss.actions) await onHostLoss(a);
      }
      const h = decideHealing(snap, carry.healing, rules);
      if (h.actions.some((a) => a.kind !== 'skip')) await healUnderLease();
      else {
        carry.healing = h.memory;
        for (const a of h.actions) await heal(a);
      }
    }
    status = `last poll ${new Date(snap.at).toISOString()}`;
    if (workflowInfo().continueAsNewSuggested) break;
    await pauseBetweenPolls(intervalMs);
  }
  await continueAsNew<typeof clusterWatch>({ ...input, carry });
  return { cluster, reason: 'continued as new', events: carry.events.length };
}
