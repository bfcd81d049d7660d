/** etcd members of a cluster: one container + volume each, health via GET /health. */
import type Docker from 'dockerode';
import { ETCD_CLIENT_PORT, IMAGES, containerName, labels, networkName, volumeName } from '../common/names';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { containerIp, ensureContainerRunning, ensureVolume } from './docker';
import { pollUntil } from './heartbeat';

export interface EtcdMemberInput {
  cluster: string;
  member: string;
  members: string[];
}

export function createEtcdActivities(docker: Docker) {
  return {
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
