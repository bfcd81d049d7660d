/**
 * What serves a cluster now: read before `upgrade finish` removes the old generation
 * (common/serving-check.ts decides whether the new one serves).
 */
import type { Paths } from '../../common/paths';
import type { ServingState } from '../../common/serving-check';
import { containerName } from '../../common/resource-names';
import { servingGeneration } from '../generations-file';
import { haproxyBackends } from '../haproxy';
import type { Inventory } from '../hosts/inventory';
import { psqlOn } from './psql';

/** Out of recovery and writes allowed by default: what stopWrites turns off and allowWrites back on. */
const TAKES_WRITES_SQL = "SELECT NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off'";

export function createServingStateSteps(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    async servingState(i: { cluster: string; statsPort: number }): Promise<ServingState> {
      const { rwUp } = await haproxyBackends(await inv.frontDoorAt(i.cluster, i.statsPort));
      const rw = await Promise.all(rwUp.map(async (member) => ({
        member,
        takesWrites: await psqlOn(docker, containerName(i.cluster, member), 'postgres', TAKES_WRITES_SQL).then((r) => r === 't', () => null),
      })));
      return { generation: servingGeneration(paths, i.cluster), rw };
    },
  };
}
