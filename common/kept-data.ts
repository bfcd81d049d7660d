/**
 * Data kept by `cluster delete --keep-data` that a new `cluster create` of the same name finds:
 * what it can reuse, and a spec that cannot work on it (refused before anything starts).
 */
import type { ClusterSpec } from './spec';

export interface KeptVolume {
  name: string;
  /** The dbaas.role label: etcd, postgres, backup. */
  role: string;
  member?: string;
}

export interface KeptData {
  volumes: KeptVolume[];
  /** The cluster's secrets file exists (its passwords are in the kept data directories). */
  secrets: boolean;
}

/** Why this spec cannot start on the kept data, or undefined. */
export function keptDataProblem(spec: Pick<ClusterSpec, 'name' | 'etcdMembers'>, kept: KeptData): string | undefined {
  const etcd = kept.volumes.filter((v) => v.role === 'etcd').length;
  // etcd's data directory holds its membership: a different size would not form a quorum.
  if (etcd > 0 && etcd !== spec.etcdMembers) {
    return `cluster ${spec.name} has data kept from before (--keep-data) with ${etcd} etcd member${etcd === 1 ? '' : 's'}: ` +
      `create it with --etcd ${etcd}, or remove the kept data with \`dbaas cluster delete ${spec.name}\``;
  }
  const pg = kept.volumes.some((v) => v.role === 'postgres');
  if (pg && !kept.secrets) {
    return `cluster ${spec.name} has data volumes kept from before but no secrets file: its passwords are lost, so new members could not join; ` +
      `remove the kept data with \`dbaas cluster delete ${spec.name}\``;
  }
  return undefined;
}
