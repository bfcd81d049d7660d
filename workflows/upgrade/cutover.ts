/**
 * A blue/green upgrade's cutover (docs/design/blue-green-upgrade.md, step 7): the poolers paused,
 * the old leader's writes stopped, the copy waited for until it applied the last write, the
 * sequences carried over, the new generation serving behind HAProxy, the poolers resumed. A
 * failure or the pause's deadline puts the old generation back (workflows/upgrade/write-pause.ts).
 */
import type { CopyEnds } from '../../activities/upgrade/logical-copy';
import type { ProfileName } from '../../common/spec';
import type { UpgradeStatus } from '../../common/upgrade-status';
import type { Steps } from '../steps';
import { insidePause, moveWrites, serveStep, stopWritesStep } from './write-pause';

const PAUSE_STEP = 'pause the poolers (PgBouncer PAUSE)';
const CATCH_LAST_STEP = 'wait for the copy to apply the last write';
const SEQUENCES_STEP = 'carry the sequences over';
const RESUME_STEP = 'resume the poolers';

export interface Cutover {
  copy: CopyEnds;
  profile: ProfileName;
  statsPort: number;
  /** How long writes may stay paused. */
  limitMs: number;
}

export function cutoverStepNames(c: Cutover): string[] {
  return [PAUSE_STEP, stopWritesStep(c.copy.publisher), CATCH_LAST_STEP, SEQUENCES_STEP, serveStep(c.copy.generation, c.copy.subscriber), RESUME_STEP];
}

/** The write pause: from the poolers' pause to their resume. Returns its length. */
export async function cutover(steps: Steps, status: UpgradeStatus, c: Cutover): Promise<number> {
  const { copy } = c;
  const { cluster } = copy;
  const move = {
    cluster, what: 'the cutover', from: { generation: copy.generation - 1, leader: copy.publisher }, to: { generation: copy.generation, leader: copy.subscriber },
    newGeneration: copy.generation, profile: c.profile, statsPort: c.statsPort, limitMs: c.limitMs,
  };
  return moveWrites(steps, status, move, { pause: PAUSE_STEP, resume: RESUME_STEP }, async (p) => {
    const stopped = await p.run(stopWritesStep(copy.publisher), () => insidePause.stopWrites({ cluster, member: copy.publisher }));
    await p.run(CATCH_LAST_STEP, () => insidePause.waitForCopyAt({ ...copy, lsn: stopped.lsn }));
    await p.run(SEQUENCES_STEP, () => insidePause.copySequences(copy));
    await p.run(serveStep(copy.generation, copy.subscriber), async () => {
      await p.serveTo();
      // The point of no return is serveMembers' last effect, the new leader's `health up` on rw:
      // until it, no client reached generation 2 through rw (the poolers are paused), so a failure
      // of this step puts generation 1 back and loses nothing. Going forward instead would serve a
      // generation whose HAProxy move just failed. A failure reported after it (the deadline, a
      // killed worker) finds the leader in service on rw, and the move stands (write-pause.ts).
      await insidePause.serveMembers({ cluster, profile: c.profile, statsPort: c.statsPort, leader: copy.subscriber });
    });
  });
}
