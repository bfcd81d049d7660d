/** A Postgres member's data volume use: statfs of the volume where this machine sees it, else `df` inside the member (common/volume-use.ts). */
import type { ReadInventory } from './hosts/inventory';
import type { Member } from '../common/inventory';
import { DATA_ROOT } from '../common/render/image-paths';
import { dfCommand, parseDf, type VolumeUse } from '../common/volume-use';

/** null when the member does not run (nothing to exec in) or df does not answer as expected. */
export async function dataVolumeUse(inv: ReadInventory, m: Pick<Member, 'host' | 'container'> & { state: string }): Promise<VolumeUse | null> {
  if (m.state !== 'running') return null;
  const host = inv.host(m.host);
  // DATA_ROOT is the volume's mount point (the data directory is below it).
  const seen = await host.mountUse?.(m.container, DATA_ROOT).catch(() => undefined);
  if (seen) return seen;
  const r = await host.exec(m.container, dfCommand(DATA_ROOT));
  return r.exitCode === 0 ? parseDf(r.output) ?? null : null;
}
