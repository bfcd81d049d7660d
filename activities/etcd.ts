/** etcd members of a cluster: one container + volume each, health via GET /health, users and authentication. */
import type { Inventory } from './hosts/inventory';
import { publishedOn } from './hosts/published-ports';
import { hostPort } from '../common/inventory';
import type { Paths } from '../common/paths';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from '../common/service-ports';
import { ETCD_PATRONI_USER, ETCD_ROOT_USER } from '../common/service-users';
import { readClusterSecrets } from './secrets';
import { IMAGES } from '../common/images';
import { containerName, networkName, volumeName } from '../common/resource-names';
import { dcsPrefix } from '../common/dcs-keys';
import { labels } from '../common/labels';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { clusterAccess, etcdAuthUsers } from './cluster-access';
import { containerExists, ensureContainerRunning, ensureVolume } from './docker';
import { EtcdError, b64, etcdLogin, etcdPost, prefixRangeEnd } from './etcd-gateway';
import { ErrorTypes, finalError } from './errors';
import { pollUntil } from './heartbeat';

export interface EtcdMemberInput {
  cluster: string;
  member: string;
  members: string[];
  /** The address of the added host it runs on: its client port is published there. */
  publishOn?: string;
  /** Joins the running cluster (after addEtcdMember) instead of forming a new one. */
  joinExisting?: boolean;
}

interface EtcdClusterMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
}

/** The gateway endpoint (host:port) of the first running etcd member. */
async function anyEtcdEndpoint(inv: Inventory, cluster: string, members: string[]): Promise<string> {
  for (const m of members) {
    const e = await etcdEndpointOf(inv, cluster, m);
    if (e) return e;
  }
  throw new Error(`no etcd member of ${cluster} is running`);
}

const etcdEndpointOf = async (inv: Inventory, cluster: string, member: string): Promise<string | undefined> => {
  const e = await inv.endpointOf(cluster, member, ETCD_CLIENT_PORT);
  return e && hostPort(e);
};

/** A create call whose object a first attempt (or kept data) already made counts as done. */
async function ensureCreated(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof EtcdError && /already exists/.test(err.etcdMessage))) throw err;
  }
}

export function createEtcdActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    /**
     * Turn on etcd's authentication: a root user, and the user Patroni (and the worker) log in
     * as, whose role may read and write the cluster's key prefix and nothing else. Passwords
     * travel only in request bodies to the member, never on a command line. Idempotent: every
     * object is created unless there, and an etcd that already runs with authentication (a
     * retry, or data kept by `delete --keep-data`) is changed as root.
     */
    async enableEtcdAuth(i: { cluster: string; members: string[] }): Promise<{ alreadyEnabled: boolean }> {
      const { root, patroni } = etcdAuthUsers(paths, i.cluster);
      const ip = await anyEtcdEndpoint(inv, i.cluster, i.members);
      const alreadyEnabled = (await etcdLogin(ip, root)) !== null;
      const asRoot = (path: string, body: object): Promise<unknown> => etcdPost(ip, path, body, root);
      const prefix = dcsPrefix(i.cluster);
      await ensureCreated(asRoot('/v3/auth/user/add', { name: root.name, password: root.password }));
      await asRoot('/v3/auth/user/grant', { user: root.name, role: 'root' });
      await ensureCreated(asRoot('/v3/auth/role/add', { name: ETCD_PATRONI_USER }));
      await asRoot('/v3/auth/role/grant', {
        name: ETCD_PATRONI_USER,
        perm: { permType: 'READWRITE', key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)) },
      });
      await ensureCreated(asRoot('/v3/auth/user/add', { name: patroni.name, password: patroni.password }));
      await asRoot('/v3/auth/user/grant', { user: patroni.name, role: ETCD_PATRONI_USER });
      if (!alreadyEnabled) await asRoot('/v3/auth/enable', {});
      return { alreadyEnabled };
    },

    /**
     * A later generation's Patroni (same etcd user, common/generations.ts) may read and write its
     * own prefix `/dbaas/NAME-g<n>/`, which the first grant (`/dbaas/NAME/`) does not cover; or, with
     * `revoke`, no longer may, and its keys go. Idempotent both ways. An etcd running without
     * authentication (a cluster made before it) needs no grant. The first generation's keys (a
     * finished upgrade's old members) go on `revoke` too; its grant stays with the cluster's user.
     */
    async grantGenerationKeys(i: { cluster: string; members: string[]; scope: string; revoke?: boolean }): Promise<{ authEnabled: boolean }> {
      if (i.scope === i.cluster && !i.revoke) throw new Error(`the first generation's keys (${i.scope}) are granted with the cluster's etcd user`);
      const ip = await anyEtcdEndpoint(inv, i.cluster, i.members);
      const rootPassword = readClusterSecrets(paths, i.cluster).etcdRoot;
      const root = { name: ETCD_ROOT_USER, password: rootPassword ?? '' };
      const authEnabled = rootPassword !== undefined && (await etcdLogin(ip, root)) !== null;
      const asRoot = (path: string, body: object): Promise<unknown> => etcdPost(ip, path, body, authEnabled ? root : undefined);
      const prefix = dcsPrefix(i.scope);
      const range = { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)) };
      if (!i.revoke) {
        if (authEnabled) await asRoot('/v3/auth/role/grant', { name: ETCD_PATRONI_USER, perm: { permType: 'READWRITE', ...range } });
        return { authEnabled };
      }
      await asRoot('/v3/kv/deleterange', range);
      if (authEnabled && i.scope !== i.cluster) {
        try {
          await asRoot('/v3/auth/role/revoke', { role: ETCD_PATRONI_USER, ...range });
        } catch (err) {
          // Revoked by an earlier attempt.
          if (!(err instanceof EtcdError && /permission is not granted/.test(err.etcdMessage))) throw err;
        }
      }
      return { authEnabled };
    },

    /**
     * Delete a removed member's key from the DCS instead of waiting up to ttl for it to expire.
     * Only for a member whose container no longer exists: a live member's key is never touched.
     */
    async forgetRemovedMember(i: { cluster: string; member: string; etcdMembers: string[] }): Promise<{ deleted: boolean }> {
      if (await containerExists(docker, containerName(i.cluster, i.member))) {
        throw finalError(ErrorTypes.MemberRefused, `${i.member} still has a container; not deleting its key`);
      }
      const key = `${dcsPrefix(inv.servingScope(i.cluster))}members/${i.member}`;
      const { etcdUser } = clusterAccess(paths, i.cluster);
      let last: unknown = new Error('no etcd member is running');
      for (const e of i.etcdMembers) {
        const ip = await etcdEndpointOf(inv, i.cluster, e);
        if (!ip) continue;
        try {
          const r = await etcdPost(ip, '/v3/kv/deleterange', { key: b64(key) }, etcdUser);
          return { deleted: String(r.deleted ?? '0') === '1' };
        } catch (err) {
          last = err;
        }
      }
      throw new Error(`no etcd member could delete ${key} (${last instanceof Error ? last.message : String(last)})`);
    },

    async startEtcdMember(i: EtcdMemberInput): Promise<void> {
      const l = labels(i.cluster, 'etcd', i.member);
      const volume = volumeName(i.cluster, i.member);
      const published = publishedOn(i.publishOn, [ETCD_CLIENT_PORT]);
      await ensureVolume(docker, volume, l);
      await ensureContainerRunning(docker, {
        name: containerName(i.cluster, i.member),
        labels: l,
        create: {
          Image: IMAGES.etcd,
          Hostname: containerName(i.cluster, i.member),
          Cmd: renderEtcdArgs(i),
          ExposedPorts: published.ExposedPorts,
          HostConfig: {
            PortBindings: published.PortBindings,
            NetworkMode: networkName(i.cluster),
            Binds: [`${volume}:${ETCD_DATA_ROOT}`],
            RestartPolicy: { Name: 'unless-stopped' },
          },
        },
      });
    },

    /**
     * Make room in the running etcd cluster for a new member (etcd's `member add`), before its
     * container starts with joinExisting. Idempotent: a member with its peer URL counts as added.
     */
    async addEtcdMember(i: { cluster: string; member: string; members: string[] }): Promise<{ added: boolean }> {
      const { root } = etcdAuthUsers(paths, i.cluster);
      const ip = await anyEtcdEndpoint(inv, i.cluster, i.members);
      const peerUrl = `http://${containerName(i.cluster, i.member)}:${ETCD_PEER_PORT}`;
      const list = ((await etcdPost(ip, '/v3/cluster/member/list', {}, root)).members ?? []) as EtcdClusterMember[];
      if (list.some((m) => (m.peerURLs ?? []).includes(peerUrl))) return { added: false };
      await etcdPost(ip, '/v3/cluster/member/add', { peerURLs: [peerUrl] }, root);
      return { added: true };
    },

    /** Take a member out of the etcd cluster (`member remove`), by name; its container is removed apart. Idempotent. */
    async removeEtcdMember(i: { cluster: string; member: string; members: string[] }): Promise<{ removed: boolean }> {
      const { root } = etcdAuthUsers(paths, i.cluster);
      const ip = await anyEtcdEndpoint(inv, i.cluster, i.members.filter((m) => m !== i.member));
      const peerUrl = `http://${containerName(i.cluster, i.member)}:${ETCD_PEER_PORT}`;
      const list = ((await etcdPost(ip, '/v3/cluster/member/list', {}, root)).members ?? []) as EtcdClusterMember[];
      const gone = list.find((m) => m.name === i.member || (m.peerURLs ?? []).includes(peerUrl));
      if (!gone) return { removed: false };
      await etcdPost(ip, '/v3/cluster/member/remove', { ID: gone.ID }, root);
      return { removed: true };
    },

    /** Every member answers /health with health=true (quorum reached). */
    async waitForEtcdHealthy(i: { cluster: string; members: string[] }): Promise<void> {
      await pollUntil(
        'etcd quorum',
        async () => {
          for (const m of i.members) {
            const ip = await etcdEndpointOf(inv, i.cluster, m);
            if (!ip) return { status: `${m} not running` };
            const res = await fetch(`http://${ip}/health`, { signal: AbortSignal.timeout(2000) });
            const body = (await res.json()) as { health?: string };
            if (body.health !== 'true') return { status: `${m} health=${String(body.health)}` };
          }
          return { done: undefined };
        },
        { intervalMs: 250, timeoutMs: 120_000 },
      );
    },
  };
}
