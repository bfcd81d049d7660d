/** Argument parsers that turn bad input into one clear line and exit code 2. */
import { POSTGRES_VERSIONS, isPostgresVersion, type PostgresVersion } from '../common/postgres-version';
import { MAX_REPLICAS, clusterNameProblem, isProfileName, type ProfileName } from '../common/spec';
import { UsageError } from './errors';

export function parseClusterName(name: string): string {
  const problem = clusterNameProblem(name);
  if (problem) throw new UsageError(problem);
  return name;
}

export function parseReplicas(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > MAX_REPLICAS) {
    throw new UsageError(`--replicas must be an integer from 0 to ${MAX_REPLICAS}, got "${v}"`);
  }
  return Number(v);
}

export function parseEtcd(v: string): 1 | 3 {
  if (v === '1') return 1;
  if (v === '3') return 3;
  throw new UsageError(`--etcd must be 1 or 3, got "${v}"`);
}

export function parseVersion(v: string, option = '--version'): PostgresVersion {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !isPostgresVersion(n)) throw new UsageError(`${option} must be one of ${POSTGRES_VERSIONS.join(', ')}, got "${v}"`);
  return n;
}

export function parseProfile(v: string): ProfileName {
  if (!isProfileName(v)) throw new UsageError(`--profile must be default or fast, got "${v}"`);
  return v;
}

export function parseCount(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_REPLICAS) {
    throw new UsageError(`--count must be an integer from 1 to ${MAX_REPLICAS}, got "${v}"`);
  }
  return Number(v);
}

export function parseMemberName(v: string): string {
  if (!/^pg-\d{1,3}$/.test(v)) throw new UsageError(`member must look like pg-N, got "${v}"`);
  return v;
}

/** Simulated hosts: each costs ~120 MB and 1.5 GB of images; the 10.77.0.0/24 plan has room for 9. */
export const MAX_SIM_HOSTS = 9;

export function parseHostCount(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_SIM_HOSTS) throw new UsageError(`host count must be an integer from 1 to ${MAX_SIM_HOSTS}, got "${v}"`);
  return Number(v);
}
