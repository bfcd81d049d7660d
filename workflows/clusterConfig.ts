/**
 * SetProfile and SetSync: change a running cluster's HA timing or synchronous mode through
 * Patroni's PATCH /config (the DCS config, which every member loads at its next HA loop; no
 * restart), then prove every member runs with it.
 */
import {
  PROFILES, isProfileName, isSyncMode, profileOfDcs, profileTiming, profileProblem, syncDcsPatch, syncModeOfDcs, timingDcsPatch,
  type ProfileName, type SyncMode,
} from '../common/spec';
import { quick, waits } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import { versionOf } from '../common/postgres-version';

export interface SetProfileInput {
  cluster: string;
  profile: ProfileName;
}

export interface SetProfileResult {
  cluster: string;
  profile: ProfileName;
  /** What the DCS held before; `custom` for timing that matches no profile. */
  previous: ProfileName | 'custom';
  /** Members whose Patroni runs with the new timing. */
  applied: string[];
  /** Members whose container is stopped: they load the new timing from the DCS when they start. */
  notRunning: string[];
  /** haproxy.cfg was rewritten and reloaded (false when it already had these check intervals). */
  haproxyChanged: boolean;
}

export interface SetSyncInput {
  cluster: string;
  mode: SyncMode;
}

export interface SetSyncResult {
  cluster: string;
  mode: SyncMode;
  previous: SyncMode;
  leader: string;
  /** The synchronous standby now, null for mode off. */
  syncStandby: string | null;
}

function describeTiming(p: ProfileName): string {
  const t = PROFILES[p].patroni;
  return `ttl ${t.ttl}, loop_wait ${t.loopWait}, retry_timeout ${t.retryTimeout}`;
}

export async function setProfile(input: SetProfileInput): Promise<SetProfileResult> {
  const { cluster, profile } = input;
  const write = isProfileName(profile) ? `write profile ${profile} to the DCS (${describeTiming(profile)})` : 'write the profile to the DCS';
  checkNames({ clusters: [cluster] });
  const steps = new Steps('set-profile', cluster, [
    leaseStep(cluster),
    'check the cluster and the profile',
    write,
    'wait until every member runs with it',
    `HAProxy checks for profile ${profile}`,
  ]);
  return withClusterLease(steps, cluster, () => setProfileUnderLease(input, steps, write));
}

async function setProfileUnderLease(input: SetProfileInput, steps: Steps, write: string): Promise<SetProfileResult> {
  const { cluster, profile } = input;
  const desc = await steps.run('check the cluster and the profile', async () => {
    if (!isProfileName(profile)) refuse(`unknown profile "${String(profile)}" (known: ${Object.keys(PROFILES).join(', ')})`);
    const problem = profileProblem(PROFILES[profile].patroni);
    if (problem) refuse(`profile ${profile}: ${problem}`);
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader now; change its profile once it has one`);
    if (!d.ports) refuse(`cluster ${cluster} has no HAProxy endpoints`);
    return d;
  });
  const patch = timingDcsPatch(profileTiming(profile, versionOf(desc.settings)));
  const written = await steps.run(write, () => quick.patchDcsConfig({ cluster, leader: desc.leader, patch }));
  const applied = await steps.run('wait until every member runs with it', () => waits.waitForDcsConfigApplied({ cluster, want: patch }));
  const haproxy = await steps.run(`HAProxy checks for profile ${profile}`, () =>
    quick.reconfigureHaproxy({ cluster, profile, statsPort: desc.ports!.stats }),
  );
  return {
    cluster,
    profile,
    previous: profileOfDcs(written.before) ?? 'custom',
    applied: applied.applied,
    notRunning: applied.notRunning,
    haproxyChanged: haproxy.changed,
  };
}

export async function setSync(input: SetSyncInput): Promise<SetSyncResult> {
  const { cluster, mode } = input;
  const wait = mode === 'off' ? 'wait until the leader commits without a synchronous standby' : 'wait for a synchronous standby';
  checkNames({ clusters: [cluster] });
  const steps = new Steps('set-sync', cluster, [leaseStep(cluster), 'check the cluster', `write sync mode ${mode} to the DCS`, wait]);
  return withClusterLease(steps, cluster, () => setSyncUnderLease(input, steps, wait));
}

async function setSyncUnderLease(input: SetSyncInput, steps: Steps, wait: string): Promise<SetSyncResult> {
  const { cluster, mode } = input;
  const desc = await steps.run('check the cluster', async () => {
    if (!isSyncMode(mode)) refuse(`unknown sync mode "${String(mode)}" (known: off, on, strict)`);
    const d = await quick.describeCluster(cluster);
    if (!d.leader) refuse(`cluster ${cluster} has no leader now; change its sync mode once it has one`);
    const replicas = d.members.filter((m) => m.name !== d.leader);
    // Strict with no replica would block every commit; non-strict would change nothing.
    if (mode !== 'off' && replicas.length === 0) refuse(`synchronous mode needs at least 1 replica; ${cluster} has none`);
    return d;
  });
  const written = await steps.run(`write sync mode ${mode} to the DCS`, () =>
    quick.patchDcsConfig({ cluster, leader: desc.leader, patch: syncDcsPatch(mode) }),
  );
  const applied = await steps.run(wait, () => waits.waitForSyncApplied({ cluster, mode }));
  return { cluster, mode, previous: syncModeOfDcs(written.before), leader: applied.leader, syncStandby: applied.syncStandby };
}
