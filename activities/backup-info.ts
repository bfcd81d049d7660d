/**
 * `pgbackrest info` in a running member, for a repository every member reaches (a volume, S3):
 * the read `backup list`, the backup workflows and the CLI's `cluster status` share. A repository
 * on the repository host, or a cluster with no member running, is read on the repository's side
 * instead (./backup-repository.ts), which needs the engine to start or reach its container.
 */
import type { ReadInventory } from './hosts/inventory';
import type { ExecResult } from './hosts/engine-api';
import { RUNNING_POSTGRES } from '../common/inventory';
import type { Paths } from '../common/paths';
import { parseBackupInfo, type StanzaSummary } from '../common/backup';
import { describeRepository } from '../common/repository';
import { repositoryVolumeName } from '../common/resource-names';
import { readRepositoryLocation } from './backup-settings';

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
