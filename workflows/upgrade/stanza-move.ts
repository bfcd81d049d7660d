/**
 * A blue/green upgrade's backups (docs/design/blue-green-upgrade.md, "Backups: one stanza"): the
 * cluster keeps one stanza, which follows the serving generation. At the cutover the old leader's
 * last WAL goes in, the stanza is upgraded to the new major (its history keeps the old one's
 * backups: a restore to a moment before the cutover still runs the old major), the new leader's
 * archive_command is set for real (it discarded its WAL until then) and a full backup gives the new
 * major a base. A rollback after the cutover moves the stanza back the same way (pgBackRest takes
 * an older major as the stanza's next one) and backs the old major up again.
 */
import type { PostgresVersion } from '../../common/postgres-version';
import { quick } from '../activity-options';
import { onLeaderHost } from '../leader-host';
import type { Steps } from '../steps';

const lastWalStep = (oldLeader: string): string => `archive ${oldLeader}'s last WAL (the old major's end in the stanza)`;
const archivingStep = (generation: number): string => `let generation ${generation} archive its WAL (archive_command)`;
const stanzaStep = (to: PostgresVersion): string => `move the backup stanza to PostgreSQL ${to} (stanza-upgrade, check)`;
const backupStep = (to: PostgresVersion): string => `a full backup on PostgreSQL ${to}`;

export interface StanzaMove {
  cluster: string;
  /** The generation that serves now, and its major. */
  generation: number;
  to: PostgresVersion;
  /** The leader that served before (read-only now): its WAL up to the move goes in first. */
  oldLeader: string;
}

export function stanzaMoveStepNames(m: StanzaMove): string[] {
  return [lastWalStep(m.oldLeader), archivingStep(m.generation), stanzaStep(m.to), backupStep(m.to)];
}

/**
 * Returns the full backup's label. Run once the generation serves (the activities find the serving
 * leader). `stanza.major` says where the stanza is: set once it moved.
 */
export async function moveStanza(steps: Steps, m: StanzaMove, stanza: { major: PostgresVersion | null }): Promise<string> {
  const { cluster } = m;
  await steps.run(lastWalStep(m.oldLeader), () => onLeaderHost(cluster, (on) => on.waits.archiveCurrentWal(cluster, m.oldLeader)));
  // Until the stanza moves, the new leader's pushes are refused (another database) and its WAL waits in pg_wal.
  await steps.run(archivingStep(m.generation), () => quick.enableWalArchiving(cluster));
  await steps.run(stanzaStep(m.to), () => onLeaderHost(cluster, (on) => on.waits.upgradeStanza(cluster)));
  stanza.major = m.to;
  const made = await steps.run(backupStep(m.to), async () => {
    const listed = (await quick.backupStatus(cluster)).backups.map((b) => b.label);
    return onLeaderHost(cluster, (on) => on.longRunning.runBackup({ cluster, type: 'full', before: listed }));
  });
  return made.label;
}
