/**
 * `runBackup`: one pgBackRest backup of a cluster, started in the leader's container (or as root
 * on the repository host) and followed to its end; the backup it made comes back.
 *
 * The backup and, once it succeeded, `pgbackrest info` run in one exec whose stdout the activity
 * reads: the stream's end is the backup's end (no poll), and the info the summary comes from
 * arrives with it (a second exec after the end cost about 0.15 s). The backup itself writes
 * nothing to that stream (its console goes to /dev/null; its errors are in its log file), because
 * a worker that dies closes the stream: Docker keeps the exec running, and a process writing to
 * the closed stream would fail. Only the info after it would, and a retry reads that again.
 */
import type Docker from 'dockerode';
import type { Inventory } from './hosts/inventory';
import type { Member } from '../common/inventory';
import type { Paths } from '../common/paths';
import { containerName } from '../common/resource-names';
import { newBackups, parseBackupInfo, type BackupSummary, type BackupType, type StanzaSummary } from '../common/backup';
import { PGBACKREST_LOG_PATH, standbyBackupOptions } from '../common/render/pgbackrest';
import { readRetention } from './backup-settings';
import { execIn, isNotFound } from './docker';
import { demux } from './hosts/engine-api';
import { readRepositoryInfo } from './backup-repository';
import { onRepositoryHost, pgbackrestCommand, pgbackrestFailure } from './backup-info';
import { heartbeat, isFirstAttempt, pause } from './heartbeat';
import { ErrorTypes, finalError } from './errors';
import { DEFAULT_STALL_MS, ProgressWatch, stallMessage } from './progress-watch';
import type { ClusterMember } from './patroni-api';
import { leaderWithView } from './pgbackrest';
import { repositoryHostName, rootCommand } from './repository-host/host';
import { rootInfoCommand } from './repository-host/registry';
import { sealArchiveScript } from './repository-host/render';

export interface RunBackupInput {
  cluster: string;
  type: BackupType;
  /** The replica whose pgBackRest server serves the data files (backup-standby); unset: all from the leader. */
  standby?: string;
  /** Labels that existed before this workflow's backup: a retry finds its backup by difference. */
  before: string[];
  /** How long the bytes copied may stand still before the backup fails (default 5 min). */
  stallMs?: number;
  /** false: the backup expires nothing (--no-expire-auto; an upgrade's own backups, workflows/upgrade/backup-before.ts); the next one applies the retention. */
  expire?: boolean;
}

export function createBackupRunActivities(inv: Inventory, paths: Paths) {
  return {
    /**
     * Run one backup and return it. Never starts a second one: a retried attempt first looks for
     * a backup that appeared since `before` (done) or one that holds the stanza's lock (waits for
     * it); pgBackRest's own lock also refuses a concurrent backup. The backup survives a worker
     * that dies meanwhile (Docker does not stop an exec whose client went away). No clock: it is
     * waited for while `info` shows its bytes copied moving, and fails (Stalled, final) once they
     * stand still for stallMs.
     */
    async runBackup(i: RunBackupInput): Promise<BackupSummary> {
      return runBackup(inv, paths, i);
    },
  };
}

/** The line between the backup's (silenced) part of the exec's stdout and `info`'s JSON. */
export const INFO_FOLLOWS = '--- dbaas: pgbackrest info ---';
const INFO_ARGS = ['--log-level-console=error', 'info', '--output=json'];
/**
 * How often a running backup's progress is read (for the Web UI's heartbeat detail and the stall
 * check; the CLI shows steps, not this): each read is a pgBackRest process beside the backup,
 * on the cores it compresses with.
 */
const PROGRESS_READ_MS = 5000;

/** How a running backup's end is awaited between progress reads. */
interface Started {
  leader: Member;
  engine: Docker;
  where: string;
  container: string;
  at: number;
  /** The exec's end, with its exit code and stdout; unset once it was seen. */
  end?: Promise<ExecEnd>;
}

interface ExecEnd { exitCode: number; stdout: string }

async function runBackup(inv: Inventory, paths: Paths, i: RunBackupInput): Promise<BackupSummary> {
  const retention = readRetention(paths, i.cluster);
  // The engine is the leader's (the repository host, when the backup runs there, is beside it on this machine).
  let started: Started | undefined;
  let progress = '';
  const stallMs = i.stallMs ?? DEFAULT_STALL_MS;
  const watch = new ProgressWatch(stallMs, Date.now());
  const checkProgress = (member: string, info: StanzaSummary | undefined): void => {
    const measure = info?.bytesDone === undefined ? undefined : `${info.bytesDone} bytes copied (${info.progress ?? 'running'})`;
    const verdict = watch.observe(measure, Date.now());
    if (verdict.stalled) throw finalError(ErrorTypes.Stalled, stallMessage(`the ${i.type} backup on ${started?.where ?? member}`, stallMs, verdict.lastSeen));
  };
  // The workflow listed the backups (`before`) a moment ago, under the cluster's lease: a first
  // attempt starts at once; a retry first looks for what an earlier attempt started or made.
  let earlierAttemptsPossible = !isFirstAttempt();
  for (;;) {
    if (started?.end) {
      // Its end, or now and then the progress (and a heartbeat, which also carries a cancellation).
      const end = await Promise.race([started.end, pause(PROGRESS_READ_MS).then(() => undefined)]);
      if (!end) {
        const info = await stanzaInfo(started.engine, paths, i.cluster, started.leader.name).catch(() => undefined);
        progress = info?.progress ?? progress;
        checkProgress(started.leader.name, info);
        heartbeat(`backup running on ${started.where}${progress ? `: ${progress}` : ''}`);
        continue;
      }
      if (end.exitCode !== 0) {
        throw new Error(`the ${i.type} backup on ${started.where} failed (exit ${end.exitCode}): ${await lastBackupError(started.engine, i.cluster, started.container)}`);
      }
      started.end = undefined;
      const made = backupIn(i, end.stdout);
      if (made) return made;
      // No info came with it (it failed after the backup): read it below.
    }
    const found = started ? undefined : await leaderWithView(inv, i.cluster);
    const leader = started?.leader ?? found!.leader;
    const member = leader.name;
    const engine = started?.engine ?? inv.engine(leader.host);
    const info = started || earlierAttemptsPossible ? await stanzaInfo(engine, paths, i.cluster, member) : undefined;
    earlierAttemptsPossible = true;
    const fresh = newBackups(i.before, info?.backups ?? []);
    if (fresh.length > 0) return fresh[fresh.length - 1];
    if (info?.backupRunning) {
      // A backup an earlier attempt started (this worker has no handle on it): wait for it.
      checkProgress(member, info);
      heartbeat(`backup running on ${member}${info.progress ? `: ${info.progress}` : ''}`);
    } else if (!started) {
      const args = [
        `--type=${i.type}`,
        `--repo1-retention-full=${retention.full}`,
        ...(retention.diff !== undefined ? [`--repo1-retention-diff=${retention.diff}`] : []),
        ...(i.expire === false ? ['--no-expire-auto'] : []),
        'backup',
      ];
      // After a failover the standby the workflow chose may be the leader now, or still
      // reconnecting (pgBackRest would fail, or wait, without a standby): all from the leader, then.
      const standby = i.standby && i.standby !== member && isServingReplica(found!.view, i.standby) ? i.standby : undefined;
      const target = await backupTarget(engine, paths, i.cluster, member, standby, args);
      started = { leader, engine, where: target.where, container: target.container, at: Date.now() };
      started.end = startExec(engine, target.container, target.cmd);
      // Awaited in the loop; an activity that ends first (stalled, cancelled) leaves it to settle alone.
      started.end.catch(() => undefined);
      heartbeat(`started a ${i.type} backup on ${target.where}`);
      continue;
    } else if (Date.now() - started.at > 15_000) {
      // Not running, nothing new: the backup this attempt started has failed.
      throw new Error(`the ${i.type} backup on ${started.where} failed: ${await lastBackupError(started.engine, i.cluster, started.container)}`);
    }
    await pause(1000);
  }
}

/**
 * Start `cmd` in the container and resolve when it ends. The stream ends with the process; should
 * it break first, the exec is asked until it stops running.
 */
async function startExec(docker: Docker, container: string, cmd: string[]): Promise<ExecEnd> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: false });
  const stream = await exec.start({ hijack: false, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', resolve);
  });
  let state = await exec.inspect();
  while (state.Running) {
    await pause(250);
    state = await exec.inspect();
  }
  // Only stdout is attached: the frames demuxed are its own.
  return { exitCode: state.ExitCode ?? -1, stdout: demux(Buffer.concat(chunks)) };
}

/** The newest backup since `before` in the info that followed the backup in its exec; undefined when there is none. */
export function backupIn(i: RunBackupInput, stdout: string): BackupSummary | undefined {
  const json = stdout.split(`${INFO_FOLLOWS}\n`)[1];
  if (!json) return undefined;
  try {
    return newBackups(i.before, parseBackupInfo(json, i.cluster).backups).pop();
  } catch {
    return undefined;
  }
}

/** Where a backup runs: the container, its command, and how the progress names it. */
interface BackupTarget { container: string; cmd: string[]; where: string }

async function backupTarget(docker: Docker, paths: Paths, cluster: string, leader: string, standby: string | undefined, args: string[]): Promise<BackupTarget> {
  if (!onRepositoryHost(paths, cluster)) {
    // detail: the log names the host each file came from (`backup file HOST:PATH`).
    const fromStandby = standby ? [...standbyBackupOptions(containerName(cluster, standby)), '--log-level-file=detail'] : [];
    const backup = pgbackrestCommand(cluster, [...fromStandby, ...args]);
    const script = `${shellWords(backup)} >/dev/null 2>&1 || exit $?; echo '${INFO_FOLLOWS}'; ${shellWords(pgbackrestCommand(cluster, INFO_ARGS))}; exit 0`;
    return { container: containerName(cluster, leader), cmd: ['sh', '-c', script], where: leader };
  }
  const pgHosts = [leader, ...(standby ? [standby] : [])].map((m) => containerName(cluster, m));
  const backup = await rootCommand(docker, paths, cluster, [...(standby ? ['--log-level-file=detail'] : []), ...args], { pgHosts, backupStandby: standby !== undefined });
  // The WAL the stanza's server pushed so far becomes root's, whether the backup worked or not.
  const script = `${shellWords(backup)} >/dev/null 2>&1; rc=$?; ${sealArchiveScript(cluster)}; [ $rc -eq 0 ] || exit $rc; ` +
    `echo '${INFO_FOLLOWS}'; ${shellWords(rootInfoCommand(paths, cluster, INFO_ARGS))}; exit 0`;
  return { container: repositoryHostName(paths), cmd: ['sh', '-c', script], where: 'the repository host' };
}

/** Words for `sh -c`: the options are plain words; anything else is single-quoted. */
export function shellWords(words: string[]): string {
  return words.map((w) => (/^[\w.,:=/@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** `pgbackrest info` in a member, or as root on the repository host (where a running backup's lock is). */
async function stanzaInfo(docker: Docker, paths: Paths, cluster: string, member: string): Promise<StanzaSummary> {
  if (onRepositoryHost(paths, cluster)) return readRepositoryInfo(docker, paths, cluster);
  const r = await execIn(docker, containerName(cluster, member), pgbackrestCommand(cluster, INFO_ARGS));
  const failed = pgbackrestFailure(member, INFO_ARGS, r);
  if (failed) throw failed;
  return parseBackupInfo(r.output, cluster);
}

/** Patroni reports the member as a replica that replays (a backup can read its files), in the view the leader was read from. */
function isServingReplica(view: ClusterMember[], member: string): boolean {
  const m = view.find((x) => x.name === member);
  // getCluster reads Patroni 4's `streaming` as running, as 3.0.2 says it.
  return m !== undefined && m.role !== 'leader' && m.state === 'running';
}

/** The last ERROR line of the backup log where it ran (pgBackRest writes <stanza>-backup.log). */
async function lastBackupError(docker: Docker, cluster: string, container: string): Promise<string> {
  try {
    const r = await execIn(docker, container, ['sh', '-c', `grep ERROR: ${PGBACKREST_LOG_PATH}/${cluster}-backup.log | tail -1`]);
    return r.output.trim().replace(/^.*ERROR:\s*/, '') || 'no error in the log';
  } catch (err) {
    return isNotFound(err) ? 'its container is gone' : (err as Error).message;
  }
}
