/**
 * Shared code of bench/failover and bench/switchover: the CLI run to its end, the two
 * clusters under test (a dbaas cluster made by the CLI, and a plain Patroni cluster started by
 * hand with `docker` from the same images and the same rendered configs), and the Patroni and
 * HAProxy views of them. The writer is in ha-writer.ts, the driver in ha-driver.ts; interruption
 * and process helpers in proc.ts; the plain cluster's docker steps in plain-cluster.ts.
 *
 * The plain side mirrors what dbaas creates for the parts that matter to a failover: one etcd,
 * three Patroni nodes with the same patroni.yml (profile timing, slots, pg_rewind), restart
 * policy `unless-stopped`, stop timeout 40 s, and an HAProxy with the same haproxy.cfg (rw
 * checks /primary with the profile's inter/fall/rise). It carries only the label
 * `dbaas-bench.plain`, so dbaas never sees it.
 */
import * as fs from 'node:fs';
import { clusterHasTls, readCaCert } from '../activities/cluster-tls';
import * as path from 'node:path';
import { fmt, secs } from './lib';
import {
  createPlainHaproxy, createPlainNetwork, createPlainPostgres, createPlainVolume, planPlain, removePlain, runPlainEtcd,
} from './plain-cluster';
import { BENCH_VERSION_ARGS, cli, deleteDbaasCluster, docker, getJson, leftovers, now, pause, run } from './proc';
import { serverRows, upServers } from '../activities/haproxy';
import { resolvePaths } from '../common/paths';
import { PATRONI_API_PORT } from '../common/service-ports';
import { containerName, networkName } from '../common/resource-names';
import type { ClusterPasswords } from '../common/render/patroni';
import { memberNames, type ProfileName } from '../common/spec';

// ---------------------------------------------------------------------------------------------
// Settings

export const REPLICAS = 2;
/** Own range, clear of dev clusters (15432+), bench/create-cluster (25432+), the tests (28432+) and the ephemeral range (32768+). */
const PLAIN_PORT_FIRST = 22432;
const CREATE_TIMEOUT_MS = 5 * 60_000;

/** Run the CLI to its end; throws on a non-zero exit or after `timeoutMs`. Returns stdout+stderr. */
export async function cliMust(args: string[], tag: string, timeoutMs = CREATE_TIMEOUT_MS, echo = true): Promise<string> {
  let out = '';
  const { child, exited } = cli(args, (l) => {
    out += `${l}\n`;
    if (echo) process.stdout.write(`      [${tag}] ${l}\n`);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, timeoutMs);
  const code = await exited.finally(() => clearTimeout(timer));
  if (timedOut) throw new Error(`dbaas ${args.slice(0, 2).join(' ')} did not finish in ${timeoutMs / 1000} s (is a worker polling? \`npx dbaas dev status\`)`);
  if (code !== 0) throw new Error(`dbaas ${args.join(' ')} exited with ${code}: ${out.trim().split('\n').slice(-3).join(' / ')}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The cluster under test, either side

export type Side = 'dbaas' | 'plain';

export interface HaCluster {
  side: Side;
  /** dbaas cluster name, or the plain prefix. */
  name: string;
  members: string[];
  container(member: string): string;
  ports: { rw: number; ro: number; stats: number };
  /** Superuser password (never printed). */
  password: string;
  /** The cluster CA when the cluster runs TLS (dbaas clusters); the writer then connects with verify-full. */
  ca?: string;
  /** Container IP of each member on the cluster network, read now (a restarted one may change). */
  ips(): Promise<Map<string, string>>;
  remove(): Promise<void>;
}

async function networkIps(network: string, containers: Map<string, string>): Promise<Map<string, string>> {
  const r = await run('docker', ['inspect', '-f', `{{.Name}} {{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}}{{end}}`, ...containers.values()]);
  const ip = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [n, addr] = line.trim().split(' ');
    for (const [m, c] of containers) if (`/${c}` === n && addr) ip.set(m, addr);
  }
  return ip;
}

/** A dbaas cluster made by `dbaas cluster create NAME --replicas 2 --profile P` (set-up, not timed). */
export async function createDbaasCluster(name: string, profile: ProfileName): Promise<HaCluster> {
  leftovers.add(`dbaas cluster ${name}`);
  const members = memberNames(REPLICAS);
  const remove = (): Promise<void> => deleteDbaasCluster(name, '      ');
  try {
    await cliMust(['cluster', 'create', name, ...BENCH_VERSION_ARGS, '--replicas', String(REPLICAS), '--profile', profile], 'dbaas create', CREATE_TIMEOUT_MS, false);
    const st = JSON.parse(await cliMust(['cluster', 'status', name, '--json'], 'dbaas status', 60_000, false)) as {
      endpoints?: { rw: { port: number }; ro: { port: number }; stats: { url: string } };
    };
    if (!st.endpoints) throw new Error(`cluster status ${name} --json has no endpoints`);
    const statsPort = Number(/:(\d+)\//.exec(st.endpoints.stats.url)?.[1] ?? st.endpoints.rw.port + 2);
    const secretsFile = path.join(resolvePaths().secrets, `${name}.json`);
    const password = (JSON.parse(fs.readFileSync(secretsFile, 'utf8')) as Partial<ClusterPasswords>).superuser;
    if (!password) throw new Error(`no superuser password in ${secretsFile}`);
    const ctrs = new Map(members.map((m) => [m, containerName(name, m)]));
    return {
      side: 'dbaas', name, members, password, ca: clusterHasTls(resolvePaths(), name) ? readCaCert(resolvePaths(), name) : undefined,
      container: (m) => containerName(name, m),
      ports: { rw: st.endpoints.rw.port, ro: st.endpoints.ro.port, stats: statsPort },
      ips: () => networkIps(networkName(name), ctrs),
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

/**
 * The plain cluster, by hand: `docker network create`, `docker volume create`, `docker run` for
 * etcd, `docker create` + `docker cp -` (patroni.yml uid 999, mode 0600) + `docker start` for the
 * three Patroni nodes, and the same for HAProxy with rw/ro/stats published on 127.0.0.1.
 * Containers are `<prefix>-<member>` and answer to the rendered names (dbaas-<prefix>-<member>)
 * as network aliases. Set-up, not timed.
 */
export async function startPlainCluster(prefix: string, profileName: ProfileName): Promise<HaCluster> {
  const plan = await planPlain(prefix, profileName, REPLICAS, PLAIN_PORT_FIRST, ['--restart', 'unless-stopped']);
  const { etcd, members, ctr } = plan;
  try {
    await createPlainNetwork(plan);
    for (const m of [...etcd, ...members]) await createPlainVolume(plan, m);
    await Promise.all(etcd.map((m) => runPlainEtcd(plan, m)));
    await Promise.all(members.map((m) => createPlainPostgres(plan, m)));
    await createPlainHaproxy(plan);
    // pg-0 first, so it bootstraps (as in dbaas); the replicas and HAProxy right after.
    await docker(['start', ctr(members[0])]);
    await Promise.all([...members.slice(1), 'haproxy'].map((m) => docker(['start', ctr(m)])));
  } catch (err) {
    await removePlain(plan);
    throw err;
  }
  const ctrs = new Map(members.map((m) => [m, ctr(m)]));
  return {
    side: 'plain', name: prefix, members, password: plan.passwords.superuser, container: ctr, ports: plan.ports,
    ips: () => networkIps(prefix, ctrs),
    remove: () => removePlain(plan),
  };
}

// ---------------------------------------------------------------------------------------------
// Patroni and HAProxy views

export interface ClusterJson {
  members?: { name: string; role: string; state: string; lag?: number | string; timeline?: number }[];
}

interface PatroniJson {
  role?: string;
  replication?: { application_name: string; state: string }[];
}

export interface ClusterView {
  leader?: string;
  /** Members other than the leader: name, role/state, lag. */
  others: { name: string; role: string; state: string; lag?: number | string }[];
  /** Replicas the leader's GET /patroni lists as `streaming`. */
  streaming: string[];
  rwUp: string[];
  roUp: string[];
}

export const apiUrl = (ip: string): string => `http://${ip}:${PATRONI_API_PORT}`;

/** Patroni's /cluster from the first member that answers, the leader's /patroni, HAProxy's stats. */
export async function clusterView(c: HaCluster, ips?: Map<string, string>): Promise<ClusterView> {
  const ip = ips ?? (await c.ips());
  let cl: ClusterJson | undefined;
  for (const m of c.members) {
    const addr = ip.get(m);
    if (!addr) continue;
    try {
      cl = (await getJson(`${apiUrl(addr)}/cluster`, 1000)) as ClusterJson;
      break;
    } catch {
      // next member
    }
  }
  const all = cl?.members ?? [];
  const leader = all.find((m) => m.role === 'leader' && m.state === 'running')?.name;
  const view: ClusterView = { leader, others: all.filter((m) => m.name !== leader), streaming: [], rwUp: [], roUp: [] };
  const leaderIp = leader ? ip.get(leader) : undefined;
  if (leaderIp) {
    const st = (await getJson(`${apiUrl(leaderIp)}/patroni`, 1000).catch(() => ({}))) as PatroniJson;
    view.streaming = (st.replication ?? []).filter((x) => x.state === 'streaming').map((x) => x.application_name);
  }
  try {
    const res = await fetch(`http://127.0.0.1:${c.ports.stats}/;csv`, { signal: AbortSignal.timeout(1000) });
    const up = upServers(await res.text());
    view.rwUp = up.get('rw') ?? [];
    view.roUp = up.get('ro') ?? [];
  } catch {
    // HAProxy not answering yet
  }
  return view;
}

export interface Takeover {
  newLeader?: string;
  /** Seconds from t0: a survivor's /cluster first shows a new running leader. */
  promotedS?: number;
  /** Seconds from t0: HAProxy stats first show the new leader UP on rw. */
  haproxyUpS?: number;
  /** Changes seen, "<s> <what>": Patroni role/state per member, HAProxy rw status per server. */
  events: string[];
}

/**
 * While an event runs, poll every ~100 ms (diagnostics): Patroni's /cluster (from the members in
 * `ips`; leave out a killed one, its API would only time out) and HAProxy's rw server states.
 */
export function watchTakeover(c: HaCluster, oldLeader: string, t0: number, ips: Map<string, string>): { stop: () => Promise<Takeover> } {
  let stopped = false;
  const out: Takeover = { events: [] };
  const seen = new Map<string, string>();
  const note = (key: string, value: string, t: number): void => {
    if (seen.get(key) === value) return;
    seen.set(key, value);
    out.events.push(`${fmt(t)} ${key} ${value}`);
  };
  const loop = (async (): Promise<void> => {
    while (!stopped) {
      const t = secs(now() - t0);
      let cl: ClusterJson | undefined;
      for (const [, addr] of ips) {
        cl = (await getJson(`${apiUrl(addr)}/cluster`, 1000).catch(() => undefined)) as ClusterJson | undefined;
        if (cl) break;
      }
      for (const m of cl?.members ?? []) note(m.name, `${m.role}/${m.state}`, t);
      const leader = cl?.members?.find((m) => m.role === 'leader' && m.state === 'running')?.name;
      if (leader && leader !== oldLeader) {
        out.newLeader ??= leader;
        out.promotedS ??= t;
      }
      try {
        const res = await fetch(`http://127.0.0.1:${c.ports.stats}/;csv`, { signal: AbortSignal.timeout(1000) });
        for (const r of serverRows(await res.text())) {
          if (r.proxy !== 'rw') continue;
          note(`rw/${r.server}`, r.status, t);
          if (r.server === out.newLeader && r.status.startsWith('UP')) out.haproxyUpS ??= t;
        }
      } catch {
        // stats not answering
      }
      await pause(100);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return out;
    },
  };
}

/** Patroni's own switchover: POST /switchover to the leader's API (200 when done). */
export async function patroniSwitchover(c: HaCluster, leader: string, candidate: string, ips: Map<string, string>): Promise<void> {
  const ip = ips.get(leader);
  if (!ip) throw new Error(`no IP for ${leader}`);
  const res = await fetch(`${apiUrl(ip)}/switchover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ leader, candidate }),
    signal: AbortSignal.timeout(120_000),
  });
  const body = (await res.text()).trim();
  if (res.status !== 200) throw new Error(`POST /switchover ${leader} → ${candidate}: HTTP ${res.status} ${body}`);
}

