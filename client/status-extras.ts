/**
 * What `cluster status` reads beyond the inventory and Patroni: each Postgres member's data volume
 * use and the age of the last backup. Every read runs at once and within the engines' answer time,
 * so the status stays quick; what does not answer shows as unknown.
 */
import { withinAnswerTime, type ReadInventory } from '../activities/hosts/inventory';
import { backupInfoInMembers, backupInfoOnRepositoryHost } from '../activities/backup-info';
import { dataVolumeUse } from '../activities/volume-use';
import { lastBackup, type LastBackup } from '../common/backup-age';
import type { StanzaSummary } from '../common/backup';
import type { Paths } from '../common/paths';
import type { VolumeUse } from '../common/volume-use';
import type { ClusterStatus, MemberStatus } from './cluster-info';
import { connectInventory } from './connections';

export interface StatusExtras {
  /** By member name; null: stopped, or df did not answer. */
  disks: Map<string, VolumeUse | null>;
  /** null: backups off, none made yet, or unreadable (then `lastBackupProblem` says why). */
  lastBackup: LastBackup | null;
  lastBackupProblem: string | null;
}

const diskOf = (inv: ReadInventory, m: MemberStatus): Promise<VolumeUse | null> =>
  withinAnswerTime(dataVolumeUse(inv, { host: m.host, container: m.container.name, state: m.container.state })).catch(() => null);

/**
 * `pgbackrest info` in a running member, or on the running repository host: started with the
 * status's first reads (it needs only the cluster's name). undefined: neither answers.
 */
export function quickStanzaSummary(inv: ReadInventory, paths: Paths, cluster: string): Promise<StanzaSummary | undefined> {
  const read = (async () => (await backupInfoInMembers(inv, paths, cluster)) ?? (await backupInfoOnRepositoryHost(inv, paths, cluster)))();
  // Read or not, it is awaited only for a cluster with backups: never an unhandled rejection.
  read.catch(() => undefined);
  return read;
}

/**
 * The quick read's answer; where neither a member nor the repository host answered (the host
 * stopped, no member runs), through the workers' code and dockerode, loaded only then.
 */
async function stanzaSummary(quick: Promise<StanzaSummary | undefined>, paths: Paths, cluster: string): Promise<StanzaSummary> {
  const read = await quick;
  if (read) return read;
  const [{ backupStatus }, engines] = await Promise.all([import('../activities/pgbackrest'), connectInventory()]);
  return backupStatus(engines, paths, cluster);
}

async function lastBackupOf(quick: Promise<StanzaSummary | undefined>, paths: Paths, s: ClusterStatus): Promise<Pick<StatusExtras, 'lastBackup' | 'lastBackupProblem'>> {
  if (s.backups === 'off') return { lastBackup: null, lastBackupProblem: null };
  try {
    return { lastBackup: lastBackup((await withinAnswerTime(stanzaSummary(quick, paths, s.name))).backups, Date.now()), lastBackupProblem: null };
  } catch (err) {
    return { lastBackup: null, lastBackupProblem: (err as { code?: string }).code === 'UNANSWERED' ? 'pgbackrest info did not answer in time' : (err as Error).message.split('\n')[0] };
  }
}

/** `backups`: quickStanzaSummary's read, started earlier. */
export async function readStatusExtras(inv: ReadInventory, paths: Paths, s: ClusterStatus, backups: Promise<StanzaSummary | undefined>): Promise<StatusExtras> {
  const [disks, backup] = await Promise.all([
    Promise.all(s.members.map(async (m) => [m.name, await diskOf(inv, m)] as const)),
    lastBackupOf(backups, paths, s),
  ]);
  return { disks: new Map(disks), ...backup };
}
