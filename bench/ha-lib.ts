/**
 * Shared code of bench/failover and bench/switchover: interruption and process helpers, the two
 * clusters under test (a dbaas cluster made by the CLI, and a plain Patroni cluster started by
 * hand with `docker` from the same images and the same rendered configs), and the Patroni and
 * HAProxy views of them. The writer is in ha-writer.ts, the driver in ha-driver.ts.
 *
 * The plain side mirrors what dbaas creates for the parts that matter to a failover: one etcd,
 * three Patroni nodes with the same patroni.yml (profile timing, slots, pg_rewind), restart
 * policy `unless-stopped`, stop timeout 40 s, and an HAProxy with the same haproxy.cfg (rw
 * checks /primary with the profile's inter/fall/rise). It carries only the label
 * `dbaas-bench.plain`, so dbaas never sees it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fmt, secs } from './lib';
import { serverRows, upServers } from '../activities/haproxy';
import { PROJECT_ROOT, resolvePaths } from '../common/paths';
import {
  HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT, IMAGES, PATRONI_API_PORT, containerName, networkName,
} from '../common/names';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { HAPROXY_CONFIG_PATH, renderHaproxyConfig } from '../common/render/haproxy';
import { DATA_ROOT, PATRONI_CONFIG_PATH, renderPatroniConfig, type ClusterPasswords } from '../common/render/patroni';
import { PROFILES, etcdMemberNames, memberNames, type ProfileName } from '../common/spec';

// ---------------------------------------------------------------------------------------------
// Settings

export const REPLICAS = 2;
const CLI = path.join(PROJECT_ROOT, 'bin', 'dbaas.js');
/** Own range, clear of the tests (35432+), dev clusters (15432+) and bench/create-cluster (25432+). */
const PLAIN_PORT_FIRST = 45432;
const PLAIN_LABEL = 'dbaas-bench.plain';
/** uid/gid of postgres in docker/postgres/Dockerfile. */
const POSTGRES_UID = 999;
const CREATE_TIMEOUT_MS = 5 * 60_000;

// ---------------------------------------------------------------------------------------------
// Interruption: the first SIGINT/SIGTERM stops at the next safe point and cleans up; a second
// one exits at once, printing what may be left behind.

export const abort = new AbortController();
const leftovers = new Set<string>();
let interrupts = 0;

/** First SIGINT/SIGTERM: abort (clean up at the next safe point); second: exit at once. */
export function onSignal(sig: NodeJS.Signals): void {
  interrupts++;
  if (interrupts === 1) {
    process.stderr.write(`\n${sig}: stopping after cleanup (send it again to exit at once)\n`);
    abort.abort(new Error(`interrupted by ${sig}`));
    return;
  }
  process.stderr.write(`\n${sig} again: exiting without finishing cleanup. Possibly left: ${[...leftovers].join(', ') || 'nothing'}\n`);
  process.exit(130);
}

export class Interrupted extends Error {
  override name = 'Interrupted';
}

export function checkAbort(): void {
  if (abort.signal.aborted) throw new Interrupted((abort.signal.reason as Error | undefined)?.message ?? 'interrupted');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      abort.signal.removeEventListener('abort', done);
      resolve();
    }
    abort.signal.addEventListener('abort', done, { once: true });
  });
}

/** Sleep that an interruption does not shorten (for pacing inside a measurement). */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const now = (): number => performance.now();

// ---------------------------------------------------------------------------------------------
// Processes

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command; stdin from `input`. Never throws for a non-zero exit (see `docker`). */
export function run(cmd: string, args: string[], input?: Buffer | string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

export async function docker(args: string[], input?: Buffer): Promise<string> {
  const r = await run('docker', args, input);
  if (r.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout.trim();
}

/**
 * The dbaas CLI in its own process group: a Ctrl-C on the terminal reaches only the bench, which
 * lets a running command finish and then cleans up.
 */
export function cli(args: string[], onLine: (l: string) => void): { child: ChildProcess; exited: Promise<number | string> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let buf = '';
  const feed = (c: Buffer): void => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout?.on('data', feed);
  child.stderr?.on('data', feed);
  const exited = new Promise<number | string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (buf) onLine(buf);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, exited };
}

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
// Small helpers

/** One-file ustar archive, for `docker cp - CONTAINER:DIR` (keeps owner and mode as given). */
function tarOneFile(name: string, content: string, mode: number, uid: number, gid: number): Buffer {
  const data = Buffer.from(content, 'utf8');
  const h = Buffer.alloc(512, 0);
  const oct = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';
  h.write(name, 0, 100, 'utf8');
  h.write(oct(mode, 8), 100, 8, 'ascii');
  h.write(oct(uid, 8), 108, 8, 'ascii');
  h.write(oct(gid, 8), 116, 8, 'ascii');
  h.write(oct(data.length, 12), 124, 12, 'ascii');
  h.write(oct(Math.floor(Date.now() / 1000), 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512, 0);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024, 0)]);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function freePortBlock(first: number): Promise<number> {
  for (let base = first; base + 3 < 65535; base += 16) {
    const free = await Promise.all([0, 1, 2].map((d) => portFree(base + d)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no 3 free consecutive ports on 127.0.0.1 from ${first}`);
}

export async function getJson(url: string, timeoutMs = 2000): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return res.json();
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
  const remove = async (): Promise<void> => {
    const { exited } = cli(['cluster', 'delete', name], (l) => process.stdout.write(`      [dbaas delete] ${l}\n`));
    const code = await exited;
    // Exit 2 "no cluster named": a failed create already compensated.
    if (code === 0 || code === 2) leftovers.delete(`dbaas cluster ${name}`);
    else process.stderr.write(`    warning: dbaas cluster delete ${name} exited with ${code}\n`);
  };
  try {
    await cliMust(['cluster', 'create', name, '--replicas', String(REPLICAS), '--profile', profile], 'dbaas create', CREATE_TIMEOUT_MS, false);
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
      side: 'dbaas', name, members, password,
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

async function removePlain(prefix: string): Promise<void> {
  const ids = (await run('docker', ['ps', '-aq', '--filter', `label=${PLAIN_LABEL}=${prefix}`])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
  const vols = (await run('docker', ['volume', 'ls', '-q', '--filter', `label=${PLAIN_LABEL}=${prefix}`])).stdout.split('\n').filter(Boolean);
  if (vols.length > 0) await run('docker', ['volume', 'rm', '-f', ...vols]);
  await run('docker', ['network', 'rm', prefix]);
  const left = (await run('docker', ['ps', '-aq', '--filter', `label=${PLAIN_LABEL}=${prefix}`])).stdout.trim();
  const netLeft = (await run('docker', ['network', 'ls', '-q', '--filter', `name=^${prefix}$`])).stdout.trim();
  if (left || netLeft) throw new Error(`cleanup of ${prefix} left containers [${left}] network [${netLeft}]`);
  leftovers.delete(`plain ${prefix}-*`);
}

/**
 * The plain cluster, by hand: `docker network create`, `docker volume create`, `docker run` for
 * etcd, `docker create` + `docker cp -` (patroni.yml uid 999, mode 0600) + `docker start` for the
 * three Patroni nodes, and the same for HAProxy with rw/ro/stats published on 127.0.0.1.
 * Containers are `<prefix>-<member>` and answer to the rendered names (dbaas-<prefix>-<member>)
 * as network aliases. Set-up, not timed.
 */
export async function startPlainCluster(prefix: string, profileName: ProfileName): Promise<HaCluster> {
  const cluster = prefix;
  const profile = PROFILES[profileName];
  const etcd = etcdMemberNames(1);
  const members = memberNames(REPLICAS);
  const ctr = (m: string): string => `${prefix}-${m}`;
  const vol = (m: string): string => `${prefix}-${m}-data`;
  const passwords: ClusterPasswords = {
    superuser: crypto.randomBytes(24).toString('base64url'),
    replication: crypto.randomBytes(24).toString('base64url'),
    rewind: crypto.randomBytes(24).toString('base64url'),
    pooler: crypto.randomBytes(24).toString('base64url'),
  };
  const base = await freePortBlock(PLAIN_PORT_FIRST);
  const ports = { rw: base, ro: base + 1, stats: base + 2 };
  const label = ['--label', `${PLAIN_LABEL}=${prefix}`];
  const common = (m: string): string[] => [
    '--name', ctr(m), '--hostname', containerName(cluster, m),
    '--network', prefix, '--network-alias', containerName(cluster, m),
    '--restart', 'unless-stopped', ...label,
  ];
  leftovers.add(`plain ${prefix}-*`);
  try {
    await docker(['network', 'create', ...label, prefix]);
    for (const m of [...etcd, ...members]) await docker(['volume', 'create', ...label, vol(m)]);
    await Promise.all(etcd.map((m) => docker([
      'run', '-d', ...common(m), '-v', `${vol(m)}:${ETCD_DATA_ROOT}`, IMAGES.etcd, ...renderEtcdArgs({ cluster, member: m, members: etcd }),
    ])));
    await Promise.all(members.map(async (m) => {
      await docker(['create', ...common(m), '-v', `${vol(m)}:${DATA_ROOT}`, '--shm-size', '256m', '--stop-timeout', '40', IMAGES.postgres]);
      const yml = renderPatroniConfig({
        cluster, member: m, etcdMembers: etcd, profile, sync: false,
        tags: { nofailover: false, noloadbalance: false }, passwords,
      });
      await docker(['cp', '-', `${ctr(m)}:${path.posix.dirname(PATRONI_CONFIG_PATH)}`],
        tarOneFile(path.posix.basename(PATRONI_CONFIG_PATH), yml, 0o600, POSTGRES_UID, POSTGRES_UID));
    }));
    await docker([
      'create', ...common('haproxy'),
      '-p', `127.0.0.1:${ports.rw}:${HAPROXY_RW_PORT}`,
      '-p', `127.0.0.1:${ports.ro}:${HAPROXY_RO_PORT}`,
      '-p', `127.0.0.1:${ports.stats}:${HAPROXY_STATS_PORT}`,
      IMAGES.haproxy,
    ]);
    const cfg = renderHaproxyConfig({ cluster, members, checks: profile.haproxy });
    await docker(['cp', '-', `${ctr('haproxy')}:${path.posix.dirname(HAPROXY_CONFIG_PATH)}`],
      tarOneFile(path.posix.basename(HAPROXY_CONFIG_PATH), cfg, 0o644, 0, 0));
    // pg-0 first, so it bootstraps (as in dbaas); the replicas and HAProxy right after.
    await docker(['start', ctr(members[0])]);
    await Promise.all([...members.slice(1), 'haproxy'].map((m) => docker(['start', ctr(m)])));
  } catch (err) {
    await removePlain(prefix);
    throw err;
  }
  const ctrs = new Map(members.map((m) => [m, ctr(m)]));
  return {
    side: 'plain', name: prefix, members, password: passwords.superuser, container: ctr, ports,
    ips: () => networkIps(prefix, ctrs),
    remove: () => removePlain(prefix),
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

