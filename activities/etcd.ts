/** etcd members of a cluster: one container + volume each, health via GET /health. */
import type Docker from 'dockerode';
import { ETCD_CLIENT_PORT, IMAGES, PATRONI_NAMESPACE, containerName, labels, networkName, volumeName } from '../common/names';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { containerExists, containerIp, ensureContainerRunning, ensureVolume, execIn } from './docker';
import { ErrorTypes, finalError } from './errors';
import { pollUntil } from './heartbeat';

export interface EtcdMemberInput {
  cluster: string;
  member: string;
  members: string[];
}

export function createEtcdActivities(docker: Docker) {
  return {
    /**
     * Delete a removed member's key from the DCS instead of waiting up to ttl for it to expire.
     * Only for a member whose container no longer exists: a live member's key is never touched.
     */
    async forgetRemovedMember(i: { cluster: string; member: string; etcdMembers: string[] }): Promise<{ deleted: boolean }> {
      if (await containerExists(docker, containerName(i.cluster, i.member))) {
        throw finalError(ErrorTypes.MemberRefused, `${i.member} still has a container; not deleting its key`);
      }
      const key = `${PATRONI_NAMESPACE}${i.cluster}/members/${i.member}`;
      for (const e of i.etcdMembers) {
        const r = await execIn(docker, containerName(i.cluster, e), ['etcdctl', '--endpoints=http://127.0.0.1:2379', 'del', key]);
        if (r.exitCode === 0) return { deleted: r.output.trim() === '1' };
      }
      throw new Error(`no etcd member could delete ${key}`);
    },

    async startEtcdMember(i: EtcdMemberInput): Promise<void> {
      const l = labels(i.cluster, 'etcd', i.member);
      const volume = volumeName(i.cluster, i.member);
      await ensureVolume(docker, volume, l);
      await ensureContainerRunning(docker, {
        name: containerName(i.cluster, i.member),
        labels: l,
        create: {
          Image: IMAGES.etcd,
          Hostname: containerName(i.cluster, i.member),
          Cmd: renderEtcdArgs(i),
          HostConfig: {
            NetworkMode: networkName(i.cluster),
            Binds: [`${volume}:${ETCD_DATA_ROOT}`],
            RestartPolicy: { Name: 'unless-stopped' },
          },
        },
      });
    },

    /** Every member answers /health with health=true (quorum reached). */
    async waitForEtcdHealthy(i: { cluster: string; members: string[] }): Promise<void> {
      await pollUntil(
        'etcd quorum',
        async () => {
          for (const m of i.members) {
            const ip = await containerIp(docker, i.cluster, containerName(i.cluster, m));
            if (!ip) return { status: `${m} not running` };
            const res = await fetch(`http://${ip}:${ETCD_CLIENT_PORT}/health`, { signal: AbortSignal.timeout(2000) });
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
