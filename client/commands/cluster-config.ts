/** `dbaas cluster set-profile NAME PROFILE` and `dbaas cluster set-sync NAME off|on|strict`. */
import { haWorkflowIds } from '../../common/workflow-ids';
import { PROFILES, type ProfileName, type SyncMode } from '../../common/spec';
import type { SetProfileResult, SetSyncResult, setProfile, setSync } from '../../workflows';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

async function assertClusterExists(name: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, name);
}

export async function setProfileCommand(name: string, profile: ProfileName): Promise<void> {
  await assertClusterExists(name);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof setProfile>(
      gateway, 'setProfile', haWorkflowIds.setProfile(name), name, [{ cluster: name, profile }],
      { running: `the profile of ${name} is being changed`, starting: `setting profile ${profile} on ${name}` },
      async () => undefined,
    );
    const r = await followRun<SetProfileResult>(gateway, handle, `set-profile ${name}`);
    const t = PROFILES[r.profile].patroni;
    const h = PROFILES[r.profile].haproxy;
    console.log(`${r.cluster}: profile ${r.profile} (was ${r.previous}): ttl ${t.ttl} s, loop_wait ${t.loopWait} s, retry_timeout ${t.retryTimeout} s, applied by ${r.applied.join(', ')}` +
      (r.notRunning.length ? ` (stopped, will load it on start: ${r.notRunning.join(', ')})` : ''));
    console.log(`  HAProxy checks every ${h.interMs / 1000} s, down after ${h.fall}, up after ${h.rise}${r.haproxyChanged ? ' (reloaded)' : ' (unchanged)'}`);
  } finally {
    await gateway.close();
  }
}

export async function setSyncCommand(name: string, mode: SyncMode): Promise<void> {
  await assertClusterExists(name);
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof setSync>(
      gateway, 'setSync', haWorkflowIds.setSync(name), name, [{ cluster: name, mode }],
      { running: `the sync mode of ${name} is being changed`, starting: `setting sync mode ${mode} on ${name}` },
      async () => undefined,
    );
    const r = await followRun<SetSyncResult>(gateway, handle, `set-sync ${name}`);
    console.log(`${r.cluster}: sync ${r.mode} (was ${r.previous}); leader ${r.leader}` + (r.syncStandby ? `, synchronous standby ${r.syncStandby}` : ', no synchronous standby'));
  } finally {
    await gateway.close();
  }
}
