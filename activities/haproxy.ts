/** The cluster's HAProxy: rw (leader), ro (replicas), stats + Prometheus, on 127.0.0.1 host ports. */
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { withClusterLock } from './locks';
import {
  HAPROXY_MEMBER, HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT, IMAGES, LABEL_CLUSTER, LABEL_MEMBER, LABEL_PORT_PREFIX, LABEL_ROLE,
  containerName, labels, networkName,
} from '../common/names';
import { HAPROXY_ADMIN_SOCKET, HAPROXY_CONFIG_PATH, HAPROXY_STATE_FILE, renderHaproxyConfig } from '../common/render/haproxy';
import { PROFILES, type ClusterPorts, type ProfileName } from '../common/spec';
import { ensureContainerRunning, execIn, readFileIn, writeFileIn } from './docker';
import { ErrorTypes, finalError } from './errors';
import { heartbeat, pause, pollUntil } from './heartbeat';

export interface HaproxyInput {
  cluster: string;
  members: string[];
  profile: ProfileName;
  ports: ClusterPorts;
}

export interface StatsRow {
  proxy: string;
  server: string;
  status: string;
  /** Current sessions. */
  sessions: number;
}

/** Parse HAProxy's stats CSV into server rows (frontends and backend totals left out). */
export function serverRows(csv: string): StatsRow[] {
  const lines = csv.split('\n').filter((l) => l.length > 0);
  const header = lines[0].replace(/^# /, '').split(',');
  const col = (name: string): number => header.indexOf(name);
  const [px, sv, st, scur] = [col('pxname'), col('svname'), col('status'), col('scur')];
  return lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((c) => c[sv] !== 'FRONTEND' && c[sv] !== 'BACKEND')
    .map((c) => ({ proxy: c[px], server: c[sv], status: c[st] ?? '', sessions: Number(c[scur] ?? 0) }));
}

async function statsCsv(statsPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`, { signal: AbortSignal.timeout(2000) });
  return res.text();
}

/** HAProxy's runtime API over the admin socket inside the container. */
async function runtimeCommand(docker: Docker, cluster: string, command: string): Promise<string> {
  const r = await execIn(docker, containerName(cluster, HAPROXY_MEMBER), ['socat', 'stdio', HAPROXY_ADMIN_SOCKET], `${command}\n`);
  if (r.exitCode !== 0) throw new Error(`haproxy runtime API "${command}" failed: ${r.output.trim()}`);
  return r.output.trim();
}

export interface BackendCounts {
  rwUp: string[];
  roUp: string[];
}

/** The servers that are UP, per proxy. */
export function upServers(csv: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of serverRows(csv)) {
    if (r.status.startsWith('UP')) out.set(r.proxy, [...(out.get(r.proxy) ?? []), r.server]);
  }
  return out;
}

export async function haproxyBackends(statsPort: number): Promise<BackendCounts> {
  const up = upServers(await statsCsv(statsPort));
  return { rwUp: up.get('rw') ?? [], roUp: up.get('ro') ?? [] };
}

/** Postgres members of the cluster that have a container now, in member order. */
async function postgresMembers(docker: Docker, cluster: string): Promise<string[]> {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${cluster}`, `${LABEL_ROLE}=postgres`] } });
  return cs.map((c) => c.Labels[LABEL_MEMBER]).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export function createHaproxyActivities(docker: Docker, paths: Paths) {
  return {
    /**
     * Rewrite haproxy.cfg for the given members and reload gracefully: the master starts new
     * workers on the inherited listening sockets while old workers finish their established
     * sessions, so no connection is refused or cut. Idempotent: an identical config is a no-op.
     */
    async reconfigureHaproxy(i: { cluster: string; profile: ProfileName; statsPort: number }): Promise<{ members: string[]; changed: boolean }> {
      // Serialized per cluster, and the member list is read at this moment from Docker: two
      // concurrent adds (or an add and a remove) converge instead of overwriting each other.
      return withClusterLock(paths, `haproxy-${i.cluster}`, async () => {
        const members = await postgresMembers(docker, i.cluster);
        const name = containerName(i.cluster, HAPROXY_MEMBER);
        const config = renderHaproxyConfig({ cluster: i.cluster, members, checks: PROFILES[i.profile].haproxy });
        const current = await readFileIn(docker, name, HAPROXY_CONFIG_PATH);
        if (current !== config) {
          await writeFileIn(docker, name, { dir: '/tmp', name: 'haproxy.cfg.next', content: config, mode: 0o644, uid: 0, gid: 0 });
          const check = await execIn(docker, name, ['haproxy', '-c', '-f', '/tmp/haproxy.cfg.next']);
          if (check.exitCode !== 0) throw finalError(ErrorTypes.HaproxyConfigInvalid, `rendered haproxy.cfg is invalid: ${check.output.trim()}`);
          await writeFileIn(docker, name, { dir: path.posix.dirname(HAPROXY_CONFIG_PATH), name: path.posix.basename(HAPROXY_CONFIG_PATH), content: config, mode: 0o644, uid: 0, gid: 0 });
        }
        const wanted = [...members].sort().join(',');
        const loaded = async (): Promise<string> =>
          [...new Set(serverRows(await statsCsv(i.statsPort)).filter((r) => r.proxy === 'ro').map((r) => r.server))].sort().join(',');
        // Reload also when the file already matched but the running workers serve another set:
        // a retried attempt may have written the file and died before the signal.
        if (current !== config || (await loaded().catch(() => '')) !== wanted) {
          const save = await execIn(docker, name, ['sh', '-c', `echo 'show servers state' | socat stdio ${HAPROXY_ADMIN_SOCKET} > ${HAPROXY_STATE_FILE}`]);
          if (save.exitCode !== 0) throw new Error(`saving HAProxy server state failed: ${save.output.trim()}`);
          await docker.getContainer(name).kill({ signal: 'SIGUSR2' });
        }
        await pollUntil<true>(
          'HAProxy to load the new servers',
          async () => {
            const have = await loaded();
            return have === wanted ? { done: true } : { status: `serving [${have}], want [${wanted}]` };
          },
          { intervalMs: 200, timeoutMs: 30_000 },
        );
        return { members, changed: current !== config };
      });
    },

    /** Stop new sessions to the member (rw and ro) and wait for its sessions to end, up to timeoutMs. */
    async drainHaproxyServer(i: { cluster: string; member: string; statsPort: number; timeoutMs: number }): Promise<{ sessionsLeft: number }> {
      for (const proxy of ['rw', 'ro']) await runtimeCommand(docker, i.cluster, `set server ${proxy}/${i.member} state drain`);
      const deadline = Date.now() + i.timeoutMs;
      for (;;) {
        const rows = serverRows(await statsCsv(i.statsPort)).filter((r) => r.server === i.member);
        const sessions = rows.reduce((n, r) => n + r.sessions, 0);
        heartbeat(`draining ${i.member}: ${sessions} sessions`);
        if (sessions === 0 || Date.now() > deadline) return { sessionsLeft: sessions };
        await pause(500);
      }
    },

    /** The member is UP in the given proxy (ro for replicas). */
    async waitForHaproxyServerUp(i: { statsPort: number; proxy: 'rw' | 'ro'; member: string }): Promise<void> {
      await pollUntil<true>(
        `${i.member} UP in HAProxy ${i.proxy}`,
        async () => {
          const row = serverRows(await statsCsv(i.statsPort)).find((r) => r.proxy === i.proxy && r.server === i.member);
          return row?.status.startsWith('UP') ? { done: true } : { status: `${i.member} ${row?.status ?? 'absent'}` };
        },
        { intervalMs: 250, timeoutMs: 120_000 },
      );
    },

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
          Labels: { ...portLabels, 'dbaas.profile': i.profile },
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
