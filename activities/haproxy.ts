/** The cluster's HAProxy: rw (leader), ro (replicas), stats + Prometheus, on 127.0.0.1 host ports. */
import * as path from 'node:path';
import type { Inventory } from './hosts/inventory';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { withClusterLock } from './locks';
import { HAPROXY_MEMBER, containerName, networkName } from '../common/resource-names';
import { hostPort, type Endpoint } from '../common/inventory';
import { HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT } from '../common/service-ports';
import { IMAGES } from '../common/images';
import { LABEL_PORT_PREFIX, labels } from '../common/labels';
import { HAPROXY_ADMIN_SOCKET, HAPROXY_CONFIG_PATH, HAPROXY_STATE_FILE, renderHaproxyConfig } from '../common/render/haproxy';
import { PROFILES, type ClusterPorts, type ProfileName } from '../common/spec';
import { ensureContainerRunning, execIn } from './docker';
import { memberApi } from './patroni';
import { ErrorTypes, finalError } from './errors';
import { heartbeat, pause, pollUntil } from './heartbeat';

export interface HaproxyInput {
  cluster: string;
  members: string[];
  profile: ProfileName;
  ports: ClusterPorts;
  /** The address of the added host it runs on: rw, ro and stats are published there (the cluster's front door), not on 127.0.0.1. */
  publishOn?: string;
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

/** HAProxy's stats as CSV, at the front door's stats port (a bare port: on 127.0.0.1). */
export async function statsCsv(at: number | Endpoint): Promise<string> {
  const e = typeof at === 'number' ? { host: '127.0.0.1', port: at } : at;
  const res = await fetch(`http://${hostPort(e)}/;csv`, { signal: AbortSignal.timeout(2000) });
  return res.text();
}

/** HAProxy's runtime API over the admin socket inside the container. */
export async function runtimeCommand(docker: Docker, cluster: string, command: string): Promise<string> {
  const r = await execIn(docker, containerName(cluster, HAPROXY_MEMBER), ['socat', 'stdio', HAPROXY_ADMIN_SOCKET], `${command}\n`);
  if (r.exitCode !== 0) throw new Error(`haproxy runtime API "${command}" failed: ${r.output.trim()}`);
  return r.output.trim();
}

/** One server's line of `show servers state`: backend, server and its administrative state bits. */
export interface ServerState {
  backend: string;
  server: string;
  adminState: number;
}

/** Parse the runtime API's `show servers state` (format version 1: a version line, a # header, rows). */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const header = lines.find((l) => l.startsWith('#'))?.replace(/^#\s*/, '').split(/\s+/) ?? [];
  const [be, sv, adm] = [header.indexOf('be_name'), header.indexOf('srv_name'), header.indexOf('srv_admin_state')];
  if (be < 0 || sv < 0 || adm < 0) return [];
  return lines
    .filter((l) => !l.startsWith('#') && /\s/.test(l))
    .map((l) => l.split(/\s+/))
    .map((c) => ({ backend: c[be], server: c[sv], adminState: Number(c[adm]) }));
}

/**
 * HAProxy's SRV_ADMF_FMAINT: forced maintenance (the config's `disabled` sets it together with
 * CMAINT; `set server … state ready` clears FMAINT but leaves CMAINT, so CMAINT alone means "in
 * service", as seen on 2.6.12).
 */
const FORCED_MAINTENANCE = 0x01;

/**
 * Members to render `disabled`: those the running HAProxy does not know yet (just added, still
 * cloning) and those it holds in forced maintenance (added, not yet put in service). Members
 * DOWN for other reasons (a failed check, DNS) stay enabled so their checks keep running.
 */
export function membersOutOfService(members: string[], running: ServerState[]): string[] {
  return members.filter((m) => {
    const rows = running.filter((r) => r.server === m && (r.backend === 'ro' || r.backend === 'rw'));
    return rows.length === 0 || rows.some((r) => (r.adminState & FORCED_MAINTENANCE) !== 0);
  });
}

/**
 * Write haproxy.cfg inside the container in one `docker exec`: check the candidate with
 * `haproxy -c`, move it into place, save the servers' state for the new workers and signal the
 * master (PID 1 is tini, which forwards SIGUSR2 to it) — the master starts new workers on the
 * inherited sockets while old workers finish their sessions. `if-changed` reloads only when the
 * file differs; `file-only` never reloads.
 */
async function applyConfig(docker: Docker, cluster: string, config: string, mode: 'reload' | 'if-changed' | 'file-only'): Promise<'reloaded' | 'written' | 'unchanged'> {
  const script = [
    'set -e',
    'next=/tmp/haproxy.cfg.next',
    'cat > "$next"',
    'if ! out=$(haproxy -c -f "$next" 2>&1); then echo "$out"; exit 3; fi',
    `same=0; cmp -s "$next" ${HAPROXY_CONFIG_PATH} && same=1`,
    // A rename in the config's own directory (owned by the haproxy user; the file may be root's).
    `[ "$same" = 1 ] || { cp "$next" ${HAPROXY_CONFIG_PATH}.tmp && mv -f ${HAPROXY_CONFIG_PATH}.tmp ${HAPROXY_CONFIG_PATH}; }`,
    'if [ "$1" = file-only ] || { [ "$1" = if-changed ] && [ "$same" = 1 ]; }; then [ "$same" = 1 ] && echo unchanged || echo written; exit 0; fi',
    `echo 'show servers state' | socat stdio ${HAPROXY_ADMIN_SOCKET} > ${HAPROXY_STATE_FILE}`,
    'kill -USR2 1',
    'echo reloaded',
  ].join('\n');
  const r = await execIn(docker, containerName(cluster, HAPROXY_MEMBER), ['sh', '-c', script, 'sh', mode], config);
  if (r.exitCode === 3) throw finalError(ErrorTypes.HaproxyConfigInvalid, `rendered haproxy.cfg is invalid: ${r.output.trim()}`);
  if (r.exitCode !== 0) throw new Error(`applying haproxy.cfg failed (exit ${r.exitCode}): ${r.output.trim()}`);
  const last = r.output.trim().split('\n').pop();
  if (last !== 'reloaded' && last !== 'written' && last !== 'unchanged') throw new Error(`applying haproxy.cfg: unexpected output ${r.output.trim()}`);
  return last;
}

async function waitForServerUp(statsPort: number | Endpoint, proxy: 'rw' | 'ro', member: string): Promise<void> {
  await pollUntil<true>(
    `${member} UP in HAProxy ${proxy}`,
    async () => {
      const row = serverRows(await statsCsv(statsPort)).find((r) => r.proxy === proxy && r.server === member);
      return row?.status.startsWith('UP') ? { done: true } : { status: `${member} ${row?.status ?? 'absent'}` };
    },
    { intervalMs: 100, timeoutMs: 120_000 },
  );
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

export async function haproxyBackends(statsPort: number | Endpoint): Promise<BackendCounts> {
  const up = upServers(await statsCsv(statsPort));
  return { rwUp: up.get('rw') ?? [], roUp: up.get('ro') ?? [] };
}

/** Postgres members of the cluster that have a container now, in member order. */
const postgresMembers = (inv: Inventory, cluster: string): Promise<string[]> => inv.memberNames(cluster, { kind: 'postgres' });

async function waitForReplicaAnswer(inv: Inventory, cluster: string, member: string): Promise<void> {
  await pollUntil<true>(
    `${member} to answer 200 on /replica`,
    async () => {
      const api = await memberApi(inv, cluster, member);
      if (!api) return { status: `${member} not running` };
      const res = await fetch(`${api}/replica`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200 ? { done: true } : { status: `/replica answers ${res.status}` };
    },
    { intervalMs: 100, timeoutMs: 300_000 },
  );
}

export function createHaproxyActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    /**
     * Rewrite haproxy.cfg for the given members and reload gracefully: the master starts new
     * workers on the inherited listening sockets while old workers finish their established
     * sessions, so no connection is refused or cut. Idempotent: an identical config is a no-op.
     */
    async reconfigureHaproxy(i: { cluster: string; profile: ProfileName; statsPort: number; members?: string[] }): Promise<{ members: string[]; changed: boolean }> {
      // Serialized per cluster, and the member list is read at this moment from Docker: two
      // concurrent adds (or an add and a remove) converge instead of overwriting each other.
      // A host's worker sees only its own engine: for a cluster across hosts the workflow names the members.
      return withClusterLock(paths, `haproxy-${i.cluster}`, async () => {
        const members = i.members ?? (await postgresMembers(inv, i.cluster));
        const running = parseServersState(await runtimeCommand(docker, i.cluster, 'show servers state'));
        const config = renderHaproxyConfig({
          cluster: i.cluster, members, checks: PROFILES[i.profile].haproxy, disabled: membersOutOfService(members, running),
        });
        const wanted = [...members].sort().join(',');
        const loaded = async (): Promise<string> =>
          [...new Set(serverRows(await statsCsv(await inv.frontDoorAt(i.cluster, i.statsPort))).filter((r) => r.proxy === 'ro').map((r) => r.server))].sort().join(',');
        // Reload also when the file already matches but the running workers serve another set:
        // a retried attempt may have written the file and died before the signal.
        const force = (await loaded().catch(() => '')) !== wanted;
        const outcome = await applyConfig(docker, i.cluster, config, force ? 'reload' : 'if-changed');
        if (outcome === 'reloaded') {
          await pollUntil<true>(
            'HAProxy to load the new servers',
            async () => {
              const have = await loaded();
              return have === wanted ? { done: true } : { status: `serving [${have}], want [${wanted}]` };
            },
            { intervalMs: 100, timeoutMs: 30_000 },
          );
        }
        return { members, changed: outcome !== 'unchanged' };
      });
    },

    /**
     * Put a member that is in maintenance (added while it cloned) in service, without a reload:
     * once its Patroni answers 200 on /replica (what HAProxy's ro check asks), the ro server is
     * set ready and comes UP at once; the rw server is set ready, then its health DOWN, so only
     * its own /primary check could ever bring it up. The file on disk is rewritten to match, so
     * a restarted HAProxy container keeps the member in service. Returns once the ro server shows
 * UP in the stats. Idempotent.
     */
    async putHaproxyMemberInService(i: { cluster: string; member: string; profile: ProfileName; statsPort: number; members?: string[] }): Promise<void> {
      // On a host's worker (a cluster across hosts) the workflow has waited for the answer already
      // (waitForReplicaAnswer on a worker that reaches the member) and names the members.
      if (!i.members) await waitForReplicaAnswer(inv, i.cluster, i.member);
      await withClusterLock(paths, `haproxy-${i.cluster}`, async () => {
        const m = i.member;
        // `health down` does not stick while the server is in maintenance, so it follows `ready`
        // in the same command line (and rw balances "first": the lower-numbered leader wins anyway).
        await runtimeCommand(docker, i.cluster, `set server rw/${m} state ready; set server rw/${m} health down; set server ro/${m} state ready`);
        const members = i.members ?? (await postgresMembers(inv, i.cluster));
        const running = parseServersState(await runtimeCommand(docker, i.cluster, 'show servers state'));
        const config = renderHaproxyConfig({
          cluster: i.cluster, members, checks: PROFILES[i.profile].haproxy, disabled: membersOutOfService(members, running),
        });
        await applyConfig(docker, i.cluster, config, 'file-only');
      });
      await waitForServerUp(await inv.frontDoorAt(i.cluster, i.statsPort), 'ro', i.member);
    },

    /**
     * A blue/green cutover: HAProxy serves the members now serving (the next generation's, just
     * recorded) instead of the old ones, in one reload. The new servers come in maintenance (none
     * is in the running state); each is then set ready, the new leader up on rw, every other
     * server down until its own check brings it up (/primary for rw, /replica for ro). Returns once
     * `leader` is UP on rw.
     */
    async serveMembers(i: { cluster: string; profile: ProfileName; statsPort: number; leader: string }): Promise<{ members: string[] }> {
      return withClusterLock(paths, `haproxy-${i.cluster}`, async () => {
        const members = await postgresMembers(inv, i.cluster);
        const checks = PROFILES[i.profile].haproxy;
        const running = parseServersState(await runtimeCommand(docker, i.cluster, 'show servers state'));
        await applyConfig(docker, i.cluster, renderHaproxyConfig({ cluster: i.cluster, members, checks, disabled: membersOutOfService(members, running) }), 'reload');
        const wanted = [...members].sort().join(',');
        await pollUntil<true>('HAProxy to load the new servers', async () => {
          const have = [...new Set(serverRows(await statsCsv(await inv.frontDoorAt(i.cluster, i.statsPort))).filter((r) => r.proxy === 'ro').map((r) => r.server))].sort().join(',');
          return have === wanted ? { done: true } : { status: `serving [${have}], want [${wanted}]` };
        }, { intervalMs: 50, timeoutMs: 30_000 });
        // The new leader is up on rw at once (writes wait on the paused poolers meanwhile, and it
        // is the generation's leader the copy just reached); its checks go on and would take it
        // down. Every other server waits for its own check.
        await runtimeCommand(docker, i.cluster, members.flatMap((m) => [
          `set server rw/${m} state ready`, `set server rw/${m} health ${m === i.leader ? 'up' : 'down'}`, `set server ro/${m} state ready`, `set server ro/${m} health down`,
        ]).join('; '));
        await applyConfig(docker, i.cluster, renderHaproxyConfig({ cluster: i.cluster, members, checks, disabled: [] }), 'file-only');
        await waitForServerUp(await inv.frontDoorAt(i.cluster, i.statsPort), 'rw', i.leader);
        return { members };
      });
    },

    /** The member answers 200 on Patroni's /replica: what HAProxy's ro check asks before it is put in service. */
    async waitForReplicaAnswer(i: { cluster: string; member: string }): Promise<void> {
      await waitForReplicaAnswer(inv, i.cluster, i.member);
    },

    /** Stop new sessions to the member (rw and ro) and wait for its sessions to end, up to timeoutMs. */
    async drainHaproxyServer(i: { cluster: string; member: string; statsPort: number; timeoutMs: number }): Promise<{ sessionsLeft: number }> {
      for (const proxy of ['rw', 'ro']) await runtimeCommand(docker, i.cluster, `set server ${proxy}/${i.member} state drain`);
      const deadline = Date.now() + i.timeoutMs;
      for (;;) {
        const rows = serverRows(await statsCsv(await inv.frontDoorAt(i.cluster, i.statsPort))).filter((r) => r.server === i.member);
        const sessions = rows.reduce((n, r) => n + r.sessions, 0);
        heartbeat(`draining ${i.member}: ${sessions} sessions`);
        if (sessions === 0 || Date.now() > deadline) return { sessionsLeft: sessions };
        await pause(500);
      }
    },

    /** Undo drainHaproxyServer (an operation that failed midway): health checks decide again. */
    async undrainHaproxyServer(i: { cluster: string; member: string }): Promise<void> {
      await runtimeCommand(docker, i.cluster, `set server rw/${i.member} state ready; set server ro/${i.member} state ready`);
    },

    async startHaproxy(i: HaproxyInput): Promise<void> {
      const l = labels(i.cluster, 'haproxy', HAPROXY_MEMBER);
      const portLabels = {
        [`${LABEL_PORT_PREFIX}base`]: String(i.ports.rw),
        [`${LABEL_PORT_PREFIX}rw`]: String(i.ports.rw),
        [`${LABEL_PORT_PREFIX}ro`]: String(i.ports.ro),
        [`${LABEL_PORT_PREFIX}stats`]: String(i.ports.stats),
      };
      const bind = (p: number) => [{ HostIp: i.publishOn ?? '127.0.0.1', HostPort: String(p) }];
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
          const b = await haproxyBackends(await inv.frontDoorAt(i.cluster, i.statsPort));
          if (b.rwUp.length === 1 && b.roUp.length >= i.replicas) return { done: b };
          return { status: `rw up [${b.rwUp.join(',')}], ro up [${b.roUp.join(',')}] of ${i.replicas}` };
        },
        { intervalMs: 250, timeoutMs: 120_000 },
      );
    },
  };
}
