/**
 * `upgrade rollback` after the cutover (docs/design/blue-green-upgrade.md, step 8): the old
 * generation serves again, read-write, under the same kind of write pause as the cutover. Writes
 * made on the new generation since the cutover stay there (it goes afterwards). A failure or the
 * pause's deadline puts the new generation back (workflows/upgrade/write-pause.ts).
 */
import type { ProfileName } from '../../common/spec';
import type { UpgradeStatus } from '../../common/upgrade-status';
import { waits } from '../activity-options';
import type { Steps } from '../steps';
import { insidePause, moveWrites, serveStep, stopWritesStep } from './write-pause';

const LEADERS_STEP = 'find both generations\' leaders now';
const ROLLBACK_PAUSE_STEP = 'pause the poolers for the rollback';
const ROLLBACK_RESUME_STEP = 'resume the poolers on the old generation';

/** How long the rollback waits for each generation to have a leader (one may be failing over). */
const LEADER_WAIT_MS = 60_000;

export interface Rollback {
  cluster: string;
  /** The upgrade's new generation (serving now); the old one is the one before it. */
  generation: number;
  oldMembers: string[];
  newMembers: string[];
  profile: ProfileName;
  statsPort: number;
  /** How long writes may stay paused. */
  limitMs: number;
}

/** Returns the leaders it found: the old generation's serves now, the new one's wrote last. */
export async function rollbackAfterCutover(steps: Steps, status: UpgradeStatus, r: Rollback): Promise<{ old: string; new: string }> {
  const { cluster } = r;
  const back = r.generation - 1;
  steps.plan([LEADERS_STEP]);
  // Looked up now, not taken from the cutover: either generation may have failed over while the
  // operator decided. Before the pause, so it does not lengthen it.
  const leaders = await steps.run(LEADERS_STEP, async () => {
    const [oldLeader, newLeader] = await Promise.all([r.oldMembers, r.newMembers].map((members) => waits.waitForLeader({ cluster, members, timeoutMs: LEADER_WAIT_MS })));
    return { old: oldLeader!, new: newLeader! };
  });
  steps.plan([ROLLBACK_PAUSE_STEP, stopWritesStep(leaders.new), serveStep(back, leaders.old), ROLLBACK_RESUME_STEP]);
  const move = {
    cluster, what: 'the rollback', from: { generation: r.generation, leader: leaders.new }, to: { generation: back, leader: leaders.old },
    newGeneration: r.generation, profile: r.profile, statsPort: r.statsPort, limitMs: r.limitMs,
  };
  await moveWrites(steps, status, move, { pause: ROLLBACK_PAUSE_STEP, resume: ROLLBACK_RESUME_STEP }, async (p) => {
    await p.run(stopWritesStep(leaders.new), () => insidePause.stopWrites({ cluster, member: leaders.new }));
    await p.run(serveStep(back, leaders.old), async () => {
      await p.serveTo();
      await insidePause.allowWrites({ cluster, member: leaders.old });
      await insidePause.serveMembers({ cluster, profile: r.profile, statsPort: r.statsPort, leader: leaders.old });
    });
  });
  return leaders;
}
