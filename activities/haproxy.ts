/** The cluster's HAProxy: rw (leader), ro (replicas), stats + Prometheus, on 127.0.0.1 host ports. */
import * as path from 'node:path';
import type Docker from 'dockerode';
import {
  HAPROXY_MEMBER, HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT, IMAGES, LABEL_PORT_PREFIX,
  containerName, labels, networkName,
} from '../common/names';
import { HAPROXY_CONFIG_PATH, renderHaproxyConfig } from '../common/render/haproxy';
import { PROFILES, type ClusterPorts, type ProfileName } from '../common/spec';
import { ensureContainerRunning } from './docker';
import { pollUntil } from './heartbeat';

export interface HaproxyInput {
  cluster: string;
  members: string[];
  profile: ProfileName;
  ports: ClusterPorts;
}

export interface BackendCounts {
  rwUp: string[];
  roUp: string[];
}

/** Parse HAProxy's stats CSV into the servers that are UP per proxy. */
export function upServers(csv: string): Map<string, string[]> {
  const lines = csv.split('\n').filter((l) => l.length > 0);
  const header = lines[0].replace(/^# /, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const st = header.indexOf('status');
  const out = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const cols = line.split(',');
    if (cols[sv] === 'FRONTEND' || cols[sv] === 'BACKEND') continue;
    if (!cols[st]?.startsWith('UP')) continue;
    out.set(cols[px], [...(out.get(cols[px]) ?? []), cols[sv]]);
  }
  return out;
}

export async function haproxyBackends(statsPort: number): Promise<BackendCounts> {
  const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`, { signal: AbortSignal.timeout(2000) });
  const up = upServers(await res.text());
  return { rwUp: up.get('rw') ?? [], roUp: up.get('ro') ?? [] };
}

export function createHaproxyActivities(docker: Docker) {
  return {
    async startHaproxy(i: HaproxyInput): Promise<void> {
      const l = labels(i.cluster, 'haproxy', HAPROXY_MEMBER);
      const portLabels = {
        [`${LABEL_PORT_PREFIX}base`]: String(i.ports.rw),
        [`${LABEL_PORT_PREFIX}rw`]: String(i.ports.rw),
        [`${LABEL_PORT_PREFIX}ro`]: String(i.ports.ro),
        [`${LABEL_PORT_PREFIX}stats`]: String(i.ports.stats),
      };
      const bind = (p: number) => [{ HostIp: '127.0.0.1', HostPort: String(p) }];
      const config = renderHaproxyConfig({ cluster: i.cluster, members: i.members, checks: PROFILES[i.profile].haproxy });
      await ensureContainerRunning(docker, {
        name: containerName(i.cluster, HAPROXY_MEMBER),
        labels: l,
        create: {
          Image: IMAGES.haproxy,
          Hostname: containerName(i.cluster, HAPROXY_MEMBER),
          Labels: portLabels,
          ExposedPorts: { [`${HAPROXY_RW_PORT}/tcp`]: {}, [`${HAPROXY_RO_PORT}/tcp`]: {}, [`${HAPROXY_STATS_PORT}/tcp`]: {} },
          HostConfig: {
            NetworkMode: networkName(i.cluster),
            RestartPolicy: { Name: 'unless-stopped' },
            PortBindings: {
              [`${HAPROXY_RW_PORT}/tcp`]: bind(i.ports.rw),
              [`${HAPROXY_RO_PORT}/tcp`]: bind(i.ports.ro),
              [`${HAPROXY_STATS_PORT}/tcp`]: bind(i.ports.stats),
            },
          },
        },
        files: [
          { dir: path.posix.dirname(HAPROXY_CONFIG_PATH), name: path.posix.basename(HAPROXY_CONFIG_PATH), content: config, mode: 0o644, uid: 0, gid: 0 },
        ],
      });
    },

    /** rw has exactly one UP server (the leader) and ro has the expected number of replicas UP. */
    async waitForHaproxyBackends(i: { cluster: string; statsPort: number; replicas: number }): Promise<BackendCounts> {
      return pollUntil<BackendCounts>(
        'HAProxy backends',
        async () => {
          const b = await haproxyBackends(i.statsPort);
          if (b.rwUp.length === 1 && b.roUp.length >= i.replicas) return { done: b };
          return { status: `rw up [${b.rwUp.join(',')}], ro up [${b.roUp.join(',')}] of ${i.replicas}` };
        },
        { intervalMs: 250, timeoutMs: 120_000 },
      );
    },
  };
}
