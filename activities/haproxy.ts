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
import { commandFailures, endSessionsCommands, loadedServers, membersOutOfService, parseServersState, serveCommands, servesOnRw, type ServerState } from './haproxy-servers';
import { ErrorTypes, finalError } from './errors';
import { heartbeat, pause, pollUntil, throwIfCancelled } from './heartbeat';

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

/**
 * Commands that print nothing when they succeed, in one line: one connection, so one process runs
 * them all. Any text in the answer is a failure (a process without such a server answers "No such
 * server.", and did nothing) and fails the call.
 */
export async function runtimeCommands(docker: Docker, cluster: string, commands: string[]): Promise<void> {
  if (commands.length === 0) return;
  const failures = commandFailures(await runtimeCommand(docker, cluster, commands.join('; ')));
  if (failures.length > 0) throw new Error(`haproxy runtime API "${commands.join('; ')}": ${failures.join(' | ')}`);
}

/** The running worker's servers: the process the admin socket reaches (after a reload, the new worker). */
const serversState = async (docker: Docker, cluster: string): Promise<ServerState[]> => parseServersState(await runtimeCommand(docker, cluster, 'show servers state'));

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

async function waitForServerUp(statsPort: number | Endpoint, proxy: 'rw' | 'ro', member: string, timeoutMs = 120_000): Promise<void> {
  await pollUntil<true>(
    `${member} UP in HAProxy ${proxy}`,
    async () => {
      const row = serverRows(await statsCsv(statsPort)).find((r) => r.proxy === proxy && r.server === member);
      return row?.status.startsWith('UP') ? { done: true } : { status: `${member} ${row?.status ?? 'absent'}` };
    },
    { intervalMs: 100, timeoutMs },
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

/** The member's Patroni answer on /replica (what HAProxy's ro check asks); undefined when its container does not run. */
async function replicaStatus(inv: Inventory, cluster: string, member: string): Promise<number | undefined> {
  const api = await memberApi(inv, cluster, member);
  if (!api) return undefined;
  const res = await fetch(`${api}/replica`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

async function waitForReplicaAnswer(inv: Inventory, cluster: string, member: string): Promise<void> {
  await pollUntil<true>(
    `${member} to answer 200 on /replica`,
    async () => {
      const status = await replicaStatus(inv, cluster, member);
      if (status === undefined) return { status: `${member} not running` };
      return status === 200 ? { done: true } : { status: `/replica answers ${status}` };
    },
    { intervalMs: 100, timeoutMs: 300_000 },
  );
}

/** How long a replica set ready on ro (UP at once) may take to show UP in the stats, within the write pause. */
const RO_UP_MS = 15_000;

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
        const running = await serversState(docker, i.cluster);
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
        const running = await serversState(docker, i.cluster);
        const config = renderHaproxyConfig({
          cluster: i.cluster, members, checks: PROFILES[i.profile].haproxy, disabled: membersOutOfService(members, running),
        });
        await applyConfig(docker, i.cluster, config, 'file-only');
      });
      await waitForServerUp(await inv.frontDoorAt(i.cluster, i.statsPort), 'ro', i.member);
    },

    /**
     * A blue/green cutover (or its way back): HAProxy serves the members now serving (the
     * generation just recorded) instead of the ones it served, in one reload.
     *
     * First the leaving servers' sessions end, on the worker serving now: in maintenance, then
     * `shutdown sessions`. After the reload the admin socket reaches only the new worker; the old
     * one would keep them (stale reads from replicas no longer fed, sessions on a leader no longer
     * serving) for as long as their clients do. The new servers come in maintenance; ro but the
     * leader is put in service (replicas Patroni reports UP at once, the others by their checks)
     * and waited for, then rw but the leader, the file on disk. The leader comes out of maintenance
     * last, UP on rw, and nothing that can fail comes after it: until then no client reaches it,
     * so a failed attempt leaves the old members free to be put back. A retried attempt skips what
     * is done (no second reload once the running worker has the members). Returns once `leader`
     * is UP on rw.
     */
    async serveMembers(i: { cluster: string; profile: ProfileName; statsPort: number; leader: string }): Promise<{ members: string[] }> {
      return withClusterLock(paths, `haproxy-${i.cluster}`, async () => {
        const members = await postgresMembers(inv, i.cluster);
        if (!members.includes(i.leader)) throw new Error(`${i.leader} is not one of ${i.cluster}'s serving members (${members.join(', ')}): HAProxy stays as it is`);
        const checks = PROFILES[i.profile].haproxy;
        let running = await serversState(docker, i.cluster);
        const wanted = [...members].sort().join(',');
        if (loadedServers(running) !== wanted) {
          // A move the workflow gave up on (its write pause's deadline) must not start.
          throwIfCancelled('the reload');
          await runtimeCommands(docker, i.cluster, endSessionsCommands(members, running));
          await applyConfig(docker, i.cluster, renderHaproxyConfig({ cluster: i.cluster, members, checks, disabled: membersOutOfService(members, running) }), 'reload');
          // Read through the admin socket: what follows must reach the new worker.
          running = await pollUntil<ServerState[]>('HAProxy to load the new servers', async () => {
            const now = await serversState(docker, i.cluster);
            return loadedServers(now) === wanted ? { done: now } : { status: `serving [${loadedServers(now)}], want [${wanted}]` };
          }, { intervalMs: 50, timeoutMs: 30_000 });
        }
        // A replica that answers /replica now is UP on ro at once (as putHaproxyMemberInService does).
        const replicas = (await Promise.all(members.filter((m) => m !== i.leader).map(async (m) =>
          ((await replicaStatus(inv, i.cluster, m).catch(() => undefined)) === 200 ? [m] : [])))).flat();
        const commands = serveCommands({ members, leader: i.leader, running, replicas });
        await runtimeCommands(docker, i.cluster, commands.ro);
        const stats = await inv.frontDoorAt(i.cluster, i.statsPort);
        await Promise.all(replicas.map((m) => waitForServerUp(stats, 'ro', m, RO_UP_MS)));
        await runtimeCommands(docker, i.cluster, commands.rw);
        await applyConfig(docker, i.cluster, renderHaproxyConfig({ cluster: i.cluster, members, checks, disabled: [] }), 'file-only');
        // The point of no return: writes may reach the leader from here on, so nothing follows. A
        // workflow that gave up on the move by now puts the old servers back instead.
        throwIfCancelled('the leader\'s health up');
        await runtimeCommands(docker, i.cluster, commands.leader);
        return { members };
      });
    },

    /** The member is in service on HAProxy's rw: a move that reported failure may have gone through. */
    async servesOnRw(i: { cluster: string; member: string }): Promise<boolean> {
      return servesOnRw(i.member, await serversState(docker, i.cluster));
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
    async waitForHaproxyBackends(i: { cluster: string; statsPort: number; replicas: number; streaming?: string[] }): Promise<BackendCounts> {
      let nudged = false;
      return pollUntil<BackendCounts>(
        'HAProxy backends',
        async () => {
          const b = await haproxyBackends(await inv.frontDoorAt(i.cluster, i.statsPort));
          if (b.rwUp.length === 1 && b.roUp.length >= i.replicas) return { done: b };
          const down = (i.streaming ?? []).filter((m) => !b.roUp.includes(m));
          if (!nudged && down.length > 0) {
            nudged = true;
            // Replicas the workflow has just seen streaming at lag 0, which HAProxy's checks of a
            // server that started DOWN bring up only after `rise` checks `downinter` apart (up to
            // 2 s in the default profile): up now, the checks go on. HAProxy on this machine's
            // engine only (a front door on an added host waits for its checks).
            await runtimeCommands(docker, i.cluster, down.map((m) => `set server ro/${m} health up`)).catch(() => undefined);
          }
          return { status: `rw up [${b.rwUp.join(',')}], ro up [${b.roUp.join(',')}] of ${i.replicas}` };
        },
        { intervalMs: 250, timeoutMs: 120_000 },
      );
    },
  };
}
