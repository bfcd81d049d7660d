/** `dbaas cluster set-profile NAME PROFILE` and `dbaas cluster set-sync NAME off|on|strict`: their arguments and help; client/commands/cluster-config.ts does them. */
import type { Command } from 'commander';
import { PROFILES, SYNC_MODES, clusterNameProblem, isProfileName, isSyncMode, type ProfileName, type SyncMode } from '../../common/spec';
import { UsageError } from '../errors';

function parseName(v: string): string {
  const problem = clusterNameProblem(v);
  if (problem) throw new UsageError(problem);
  return v;
}

export function parseProfileArg(v: string): ProfileName {
  if (!isProfileName(v)) throw new UsageError(`profile must be one of ${Object.keys(PROFILES).join(', ')}, got "${v}"`);
  return v;
}

export function parseSyncModeArg(v: string): SyncMode {
  if (!isSyncMode(v)) throw new UsageError(`sync mode must be one of ${SYNC_MODES.join(', ')}, got "${v}"`);
  return v;
}

export function registerClusterConfigCommands(cluster: Command): void {
  cluster
    .command('set-profile')
    .argument('<name>', 'cluster name', parseName)
    .argument('<profile>', `HA timing profile: ${Object.keys(PROFILES).join(' | ')}`, parseProfileArg)
    .description('change the HA timing (Patroni ttl, loop_wait, retry_timeout) and the HAProxy checks of a running cluster; no restart')
    .exitOverride()
    .action(async (name: string, profile: ProfileName) => (await import('../commands/cluster-config')).setProfileCommand(name, profile));
  cluster
    .command('set-sync')
    .argument('<name>', 'cluster name', parseName)
    .argument('<mode>', 'off | on (synchronous_mode) | strict (also synchronous_mode_strict)', parseSyncModeArg)
    .description('switch synchronous replication of a running cluster off, on or to strict')
    .exitOverride()
    .action(async (name: string, mode: SyncMode) => (await import('../commands/cluster-config')).setSyncCommand(name, mode));
}
