/**
 * `pgbackrest info` in a running member, for a repository every member reaches (a volume, S3):
 * the read `backup list`, the backup workflows and the CLI's `cluster status` share. A repository
 * on the repository host, or a cluster with no member running, is read on the repository's side
 * instead (./backup-repository.ts), which needs the engine to start or reach its container.
 */
import type { ReadInventory } from './hosts/inventory';
import type { ExecResult } from './hosts/engine-api';
import { LOCAL_HOST, RUNNING_POSTGRES } from '../common/inventory';
import type { Paths } from '../common/paths';
import { parseBackupInfo, type StanzaSummary } from '../common/backup';
import { describeRepository } from '../common/repository';
import { repositoryVolumeName } from '../common/resource-names';
import { readRepositoryLocation } from './backup-settings';
import { repositoryHostName, rootInfoCommand, stanzaServerOf } from './repository-host/registry';

export const onRepositoryHost = (paths: Paths, cluster: string): boolean => readRepositoryLocation(paths, cluster).type === 'host';

/** A pgbackrest command on the cluster's stanza, as a member runs it. */
export const pgbackrestCommand = (cluster: string, args: string[]): string[] => ['pgbackrest', `--stanza=${cluster}`, ...args];

/** A failed run as an error with pgBackRest's own error line; undefined when it succeeded. */
export function pgbackrestFailure(where: string, args: string[], r: ExecResult): Error | undefined {
  if (r.exitCode === 0) return undefined;
  const err = r.output.split('\n').find((l) => /ERROR:/.test(l)) ?? r.output.trim().split('\n').pop() ?? '';
  return new Error(`pgbackrest ${args.join(' ')} on ${where} failed (exit ${r.exitCode}): ${err.replace(/^.*ERROR:\s*/, '')}`);
}

/** The summary with where its repository is, as `backup list` shows it. */
export function withRepository(paths: Paths, s: StanzaSummary): StanzaSummary {
  return { ...s, repository: describeRepository(readRepositoryLocation(paths, s.stanza), repositoryVolumeName(s.stanza), s.stanza) };
}

const INFO_ARGS = ['info', '--output=json'];

/**
 * The stanza's backups as the first running member that answers reads them; undefined when they
 * are read on the repository's side (the repository host, or no member runs).
 */
export async function backupInfoInMembers(inv: ReadInventory, paths: Paths, cluster: string): Promise<StanzaSummary | undefined> {
  if (onRepositoryHost(paths, cluster)) return undefined;
  const members = await inv.members(cluster, RUNNING_POSTGRES);
  if (members.length === 0) return undefined;
  let last: unknown;
  for (const m of members) {
    try {
      const r = await inv.host(m.host).exec(m.container, pgbackrestCommand(cluster, INFO_ARGS));
      const failed = pgbackrestFailure(m.name, INFO_ARGS, r);
      if (failed) throw failed;
      return withRepository(paths, parseBackupInfo(r.output, cluster));
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * The stanza's backups as root reads them on the running repository host, over the engine's API
 * alone (the CLI's `cluster status`); undefined when the repository is elsewhere, or the host's
 * container does not answer (then ./pgbackrest.ts backupStatus starts it and reads there).
 */
export async function backupInfoOnRepositoryHost(inv: ReadInventory, paths: Paths, cluster: string): Promise<StanzaSummary | undefined> {
  if (!onRepositoryHost(paths, cluster) || !stanzaServerOf(paths, cluster)) return undefined;
  const args = ['--log-level-console=error', ...INFO_ARGS];
  let r: ExecResult;
  try {
    // The repository host lives on this machine's engine.
    r = await inv.host(LOCAL_HOST).exec(repositoryHostName(paths), rootInfoCommand(paths, cluster, args));
  } catch {
    return undefined;
  }
  const failed = pgbackrestFailure('the repository host', args, r);
  if (failed) throw failed;
  return withRepository(paths, parseBackupInfo(r.output, cluster));
}
