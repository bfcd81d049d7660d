/**
 * What `cluster status` reads beyond the inventory and Patroni: each Postgres member's data volume
 * use and the age of the last backup. Every read runs at once and within the engines' answer time,
 * so the status stays quick; what does not answer shows as unknown.
 */
import { withinAnswerTime, type Inventory } from '../activities/hosts/inventory';
import { backupStatus } from '../activities/pgbackrest';
import { dataVolumeUse } from '../activities/volume-use';
import { lastBackup, type LastBackup } from '../common/backup-age';
import type { Paths } from '../common/paths';
import type { VolumeUse } from '../common/volume-use';
import type { ClusterStatus, MemberStatus } from './cluster-info';

export interface StatusExtras {
  /** By member name; null: stopped, or df did not answer. */
  disks: Map<string, VolumeUse | null>;
  /** null: backups off, none made yet, or unreadable (then `lastBackupProblem` says why). */
  lastBackup: LastBackup | null;
  lastBackupProblem: string | null;
}

const diskOf = (inv: Inventory, m: MemberStatus): Promise<VolumeUse | null> =>
  withinAnswerTime(dataVolumeUse(inv, { host: m.host, container: m.container.name, state: m.container.state })).catch(() => null);

async function lastBackupOf(inv: Inventory, paths: Paths, s: ClusterStatus): Promise<Pick<StatusExtras, 'lastBackup' | 'lastBackupProblem'>> {
  if (s.backups === 'off') return { lastBackup: null, lastBackupProblem: null };
  try {
    return { lastBackup: lastBackup((await withinAnswerTime(backupStatus(inv, paths, s.name))).backups, Date.now()), lastBackupProblem: null };
  } catch (err) {
    return { lastBackup: null, lastBackupProblem: (err as { code?: string }).code === 'UNANSWERED' ? 'pgbackrest info did not answer in time' : (err as Error).message.split('\n')[0] };
  }
}

export async function readStatusExtras(inv: Inventory, paths: Paths, s: ClusterStatus): Promise<StatusExtras> {
  const [disks, backup] = await Promise.all([
    Promise.all(s.members.map(async (m) => [m.name, await diskOf(inv, m)] as const)),
    lastBackupOf(inv, paths, s),
  ]);
  return { disks: new Map(disks), ...backup };
}
