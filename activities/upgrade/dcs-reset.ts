/**
 * After pg_upgrade the leader's data has a new system identifier: Patroni would refuse it against
 * the old `initialize` key ("system ID mismatch"). With every member stopped, the old cluster's
 * state in etcd goes (leader, members, history, status, sync, failover, initialize); its dynamic
 * configuration stays, so the upgraded leader keeps the profile, sync mode and parameters.
 * Patroni writes a new `initialize` key with the new identifier when the leader starts on its data.
 */
import { dcsPrefix } from '../../common/dcs-keys';
import { clusterAccess } from '../cluster-access';
import { etcdCall, etcdEndpoints } from '../dcs-config';
import { b64, prefixRangeEnd, unb64 } from '../etcd-gateway';
import { ErrorTypes, finalError } from '../errors';
import type { Inventory } from '../hosts/inventory';
import type { Paths } from '../../common/paths';

export async function forgetClusterState(inv: Inventory, paths: Paths, cluster: string): Promise<{ deleted: string[] }> {
  const running = await inv.members(cluster, { kind: 'postgres', running: true });
  if (running.length > 0) throw finalError(ErrorTypes.MemberRefused, `${running.map((m) => m.name).join(', ')} still run: the cluster's state in etcd is theirs`);
  const endpoints = await etcdEndpoints(inv, cluster);
  const { etcdUser } = clusterAccess(paths, cluster);
  const prefix = dcsPrefix(inv.servingScope(cluster));
  const keep = `${prefix}config`;
  const r = await etcdCall(endpoints, '/v3/kv/range', { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)), keys_only: true }, etcdUser);
  const keys = ((r.kvs as { key: string }[] | undefined) ?? []).map((kv) => unb64(kv.key)).filter((k) => k !== keep);
  for (const key of keys) await etcdCall(endpoints, '/v3/kv/deleterange', { key: b64(key) }, etcdUser);
  return { deleted: keys.map((k) => k.slice(prefix.length)) };
}

