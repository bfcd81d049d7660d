/** The hosts a new member may go to, as the placement (common/placement.ts) weighs them. */
import { LOCAL_HOST } from '../../common/inventory';
import type { HostOffer } from '../../common/placement';
import type { Paths } from '../../common/paths';
import { withinAnswerTime, type Inventory } from './inventory';
import { readHosts } from './registry';

/**
 * The added hosts whose engines answer, each with the members it runs; with none added, `local`
 * alone (one host: everything as before). `local` does not take part once hosts are added: its
 * engine is not in the hosts' swarm (see scripts/sim-hosts.sh on why it must never join one).
 */
export async function placementHosts(inv: Inventory, paths: Paths): Promise<HostOffer[]> {
  const added = readHosts(paths);
  const names = added.length === 0 ? [LOCAL_HOST] : added.map((h) => h.name).filter((n) => inv.hosts.some((h) => h.name === n));
  const answered = await Promise.all(
    names.map(async (name): Promise<HostOffer | undefined> => {
      try {
        const host = inv.host(name);
        const [{ members }, info] = await withinAnswerTime(Promise.all([host.containers(), host.engine.info() as Promise<{ Swarm?: { ControlAvailable?: boolean } }>]));
        const record = added.find((h) => h.name === name);
        return {
          name,
          load: members.length,
          swarmManager: info.Swarm?.ControlAvailable === true,
          ...(record?.zone ? { zone: record.zone } : {}),
          ...(record?.address ? { address: record.address } : {}),
        };
      } catch {
        return undefined;
      }
    }),
  );
  return answered.filter((h): h is HostOffer => h !== undefined);
}
