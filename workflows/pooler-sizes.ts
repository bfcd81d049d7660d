/**
 * The poolers' pools follow the cluster's max_connections (common/pool-sizes.ts): a resize, a
 * `cluster config set` of the connection slots and a restart that applies a pending one end with
 * this step, which gives each PgBouncer the sizes for what the leader runs and reloads it.
 */
import { isCancellation, patched } from '@temporalio/workflow';
import { innermostMessage } from '../common/error-chain';
import { describePools } from '../common/pool-sizes';
import { quick } from './activity-options';
import type { Steps } from './steps';

export const POOLER_STEP = "size the poolers' pools for max_connections (PgBouncer reload)";

/** Whether this run re-sizes the poolers: a run that went past this point on older code replays without it. */
export const poolersFollow = (): boolean => patched('pooler-follows-connections');

/**
 * Re-size the poolers; a line for the result. The operation before it is done by then, so a
 * failure here is said in the line (run it again to retry), not thrown.
 */
export async function resizePoolers(steps: Steps, cluster: string): Promise<string> {
  try {
    const r = await steps.run(POOLER_STEP, () => quick.resizePoolers(cluster));
    const what = describePools(r.pool, r.limits);
    return r.reloaded.length > 0 ? `${what}: ${r.reloaded.join(', ')} reloaded` : `${what}: unchanged`;
  } catch (err) {
    if (isCancellation(err)) throw err;
    return `not re-sized (${innermostMessage(err)}); run the operation again`;
  }
}
