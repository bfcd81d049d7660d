/** What both upgrade methods check first: the cluster as a whole can be upgraded to `to`. */
import type { ClusterDescription } from '../../activities/cluster';
import { LOCAL_HOST } from '../../common/inventory';
import { isPostgresVersion, POSTGRES_VERSIONS, upgradeProblem, versionOf } from '../../common/postgres-version';
import { checkNames } from '../input-checks';
import { refuse } from '../refusals';

export type UpgradeMethodName = 'in-place' | 'blue-green';

/** Both workflows' input, checked before the lease is asked for. */
export function checkUpgradeInput(i: { cluster: string; to: unknown; backupBeforeCutover?: unknown }): void {
  checkNames({ clusters: [i.cluster] });
  if (!isPostgresVersion(i.to)) refuse(`--to must be one of ${POSTGRES_VERSIONS.join(', ')}, got ${JSON.stringify(i.to)}`);
  if (i.backupBeforeCutover !== undefined && typeof i.backupBeforeCutover !== 'boolean') refuse(`backupBeforeCutover must be true or false, got ${JSON.stringify(i.backupBeforeCutover)}`);
}

/** The first reason the cluster cannot be upgraded now (a refusal's text), or undefined. */
export function clusterUpgradeProblem(d: ClusterDescription, cluster: string, to: unknown, method: UpgradeMethodName): string | undefined {
  const problem = upgradeProblem(cluster, versionOf(d.settings), to);
  if (problem) return problem;
  if (!d.leader) return `cluster ${cluster} has no leader now; upgrade it once it has one`;
  if (!d.ports) return `cluster ${cluster} has no HAProxy endpoints`;
  const down = d.members.find((m) => !m.running);
  if (down) return `member ${down.name} of ${cluster} is not running; start or remove it first (every member is upgraded)`;
  const away = d.members.find((m) => (m.host ?? LOCAL_HOST) !== LOCAL_HOST);
  if (away) return `an ${method} upgrade of a cluster across hosts is not built yet (${away.name} runs on ${away.host})`;
  return undefined;
}
