/**
 * A blue/green upgrade's backups (docs/design/blue-green-upgrade.md, "Backups: one stanza"): the
 * cluster keeps one stanza, which follows the serving generation. At the cutover the old leader's
 * last WAL goes in, the stanza is upgraded to the new major (its history keeps the old one's
 * backups: a restore to a moment before the cutover still runs the old major), the new leader's
 * archive_command is set for real (it discarded its WAL until then) and a full backup gives the new
 * major a base. A rollback after the cutover moves the stanza back the same way (pgBackRest takes
 * an older major as the stanza's next one) and backs the old major up again.
 */
import { patched } from '@temporalio/workflow';
import { innermostMessage } from '../../common/error-chain';
import { isPostgresVersion, type PostgresVersion } from '../../common/postgres-version';
import { quick } from '../activity-options';
import { onLeaderHost } from '../leader-host';
import type { Steps } from '../steps';
import { upgradeBackup } from './backup-before';

const lastWalStep = (oldLeader: string): string => `archive ${oldLeader}'s last WAL (the old major's end in the stanza)`;
const archivingStep = (generation: number): string => `let generation ${generation} archive its WAL (archive_command)`;
const stanzaStep = (to: PostgresVersion): string => `move the backup stanza to PostgreSQL ${to} (stanza-upgrade, check)`;
const backupStep = (to: PostgresVersion): string => `a full backup on PostgreSQL ${to}`;

/** Runs started before a failed stanza-upgrade step read the stanza's major back (their history has no such read). */
const STANZA_MAJOR_PATCH = 'stanza-major-from-info';

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
 * Where the cluster's one stanza stands during a blue/green run (the workflow keeps one record).
 * `major` decides whether a rollback moves the stanza back; `backedUp`, whether the new major has
 * its base yet (what `finish` needs before the old generation goes).
 */
export interface StanzaState {
  /** The major the stanza archives: set once it moved, read from the repository when the stanza-upgrade step fails (it may have moved all the same). */
  major: PostgresVersion | null;
  /** The major whose full backup the last move that went through took. */
  backedUp?: PostgresVersion;
  /** The last move's failure (its step and why), until a move goes through: a caller that goes on shows it. */
  failed?: string;
}

/** Returns the full backup's label. Run once the generation serves (the activities find the serving leader). */
export async function moveStanza(steps: Steps, m: StanzaMove, stanza: StanzaState): Promise<string> {
  let at = '';
  const run = <T>(name: string, f: () => Promise<T>): Promise<T> => {
    at = name;
    return steps.run(name, f);
  };
  try {
    const label = await moveSteps(run, m, stanza);
    stanza.backedUp = m.to;
    stanza.failed = undefined;
    return label;
  } catch (err) {
    stanza.failed = `${at}: ${innermostMessage(err)}`;
    throw err;
  }
}

async function moveSteps(run: Steps['run'], m: StanzaMove, stanza: StanzaState): Promise<string> {
  const { cluster } = m;
  await run(lastWalStep(m.oldLeader), () => onLeaderHost(cluster, (on) => on.waits.archiveCurrentWal(cluster, m.oldLeader)));
  // Until the stanza moves, the new leader's pushes are refused (another database) and its WAL waits
  // in pg_wal. The step ends once the leader runs the real archive_command (the next `check` pushes with it).
  await run(archivingStep(m.generation), () => quick.enableWalArchiving(cluster));
  try {
    await run(stanzaStep(m.to), () => onLeaderHost(cluster, (on) => on.waits.upgradeStanza(cluster)));
  } catch (err) {
    // stanza-upgrade may have gone through and only the `check` after it failed: the repository
    // says where the stanza is (a rollback must move it back even then).
    if (patched(STANZA_MAJOR_PATCH)) stanza.major = (await stanzaMajor(cluster)) ?? stanza.major;
    throw err;
  }
  stanza.major = m.to;
  // Expires nothing: retention would count it, and the old major's backup taken before the
  // cutover could go with the run's own backups (workflows/upgrade/backup-before.ts).
  const made = await run(backupStep(m.to), () => upgradeBackup({ cluster, type: 'full', expire: false }));
  return made.label;
}

/** The major the stanza archives now (its newest database in `pgbackrest info`); null when unreadable. */
async function stanzaMajor(cluster: string): Promise<PostgresVersion | null> {
  const v = (await quick.backupStatus(cluster).catch(() => null))?.pgVersion;
  return isPostgresVersion(v) ? v : null;
}
