/** The data volume's use on a PostgreSQL member: `df` on its mount point, inside the member. */
import type { Inventory } from './hosts/inventory';
import type { Member } from '../common/inventory';
import { parseDf } from '../common/facts';
import { DATA_ROOT } from '../common/render/patroni';
import { execIn } from './docker';

export interface VolumeUsage {
  sizeBytes: number;
  usedBytes: number;
}

/** Undefined when the member does not run or df fails. */
export async function volumeUsage(inv: Inventory, m: Member): Promise<VolumeUsage | undefined> {
  if (m.state !== 'running') return undefined;
  const r = await execIn(inv.engine(m.host), m.container, ['df', '-B1', '--output=size,used', DATA_ROOT]);
  return r.exitCode === 0 ? parseDf(r.output) : undefined;
}
