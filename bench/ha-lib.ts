/**
 * Shared code of bench/failover and bench/switchover: the two clusters under test (a dbaas
 * cluster made by the CLI, and a plain Patroni cluster started by hand with `docker` from the
 * same images and the same rendered configs), the health wait between iterations, the
 * continuous writer through the HAProxy rw port that measures the write gap, and the driver
 * that runs both sides per profile and prints the figures.
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
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { fmt, load1, median, secs } from './lib';
import { serverRows, upServers } from '../activities/haproxy';
import { PROJECT_ROOT, resolvePaths } from '../common/paths';
import {
  DEFAULT_DATABASE, HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT, IMAGES, PATRONI_API_PORT, SUPERUSER,
  containerName, networkName,
} from '../common/names';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { HAPROXY_CONFIG_PATH, renderHaproxyConfig } from '../common/render/haproxy';
import { DATA_ROOT, PATRONI_CONFIG_PATH, renderPatroniConfig, type ClusterPasswords } from '../common/render/patroni';
import { PROFILES, etcdMemberNames, isProfileName, memberNames, type ProfileName } from '../common/spec';

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
/** Between iterations: old leader back as a streaming replica, HAProxy rw/ro UP. */
const HEALTHY_TIMEOUT_MS = 4 * 60_000;
const POLL_MS = 250;
/** The writer: pause after a successful write, retry delay after a failed one. */
const WRITE_INTERVAL_MS = 50;
const WRITE_RETRY_MS = 100;
/** Short timeouts so a connection to a dead leader is given up quickly (HAProxy also cuts it). */
const WRITE_CONNECT_TIMEOUT_MS = 1000;
const WRITE_QUERY_TIMEOUT_MS = 1000;
const WRITES_TABLE = 'bench_ha_writes';

// ---------------------------------------------------------------------------------------------
// Interruption: the first SIGINT/SIGTERM stops at the next safe point and cleans up; a second
// one exits at once, printing what may be left behind.

export const abort = new AbortController();
const leftovers = new Set<string>();
let interrupts = 0;

function onSignal(sig: NodeJS.Signals): void {
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
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

interface ClusterJson {
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

const apiUrl = (ip: string): string => `http://${ip}:${PATRONI_API_PORT}`;

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

const describe = (v: ClusterView): string =>
  `leader ${v.leader ?? 'none'}; ${v.others.map((m) => `${m.name}=${m.role}/${m.state}/lag ${String(m.lag)}`).join(' ')}; ` +
  `streaming [${v.streaming.join(' ')}]; haproxy rw [${v.rwUp.join(' ')}] ro [${v.roUp.join(' ')}]`;

const sameSet = (a: string[], b: string[]): boolean => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * Wait until the cluster is whole again: one running leader, the two others running replicas
 * with lag ≤ 1 MiB (failover-eligible) that the leader lists as streaming, HAProxy rw UP on the
 * leader only and ro UP on exactly the two replicas, and a write through rw succeeds.
 */
export async function waitHealthy(c: HaCluster, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<{ leader: string; seconds: number }> {
  const t0 = now();
  let last = 'nothing yet';
  for (;;) {
    checkAbort();
    try {
      const v = await clusterView(c);
      last = describe(v);
      const reps = v.others.filter((m) => (m.role === 'replica' || m.role === 'sync_standby') && m.state === 'running' &&
        typeof m.lag === 'number' && m.lag <= PROFILES.default.patroni.maximumLagOnFailover);
      if (v.leader && reps.length === REPLICAS && v.others.length === REPLICAS &&
          reps.every((r) => v.streaming.includes(r.name)) &&
          sameSet(v.rwUp, [v.leader]) && sameSet(v.roUp, reps.map((r) => r.name)) &&
          (await writeOnce(c))) {
        return { leader: v.leader, seconds: secs(now() - t0) };
      }
    } catch (err) {
      last = (err as Error).message;
    }
    if (now() - t0 > timeoutMs) throw new Error(`${c.side} ${c.name}: not healthy after ${timeoutMs / 1000} s (last: ${last})`);
    await sleep(POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Writes through rw

function pgClient(c: HaCluster, timeoutMs?: number): Client {
  const client = new Client({
    host: '127.0.0.1', port: c.ports.rw, user: SUPERUSER, database: DEFAULT_DATABASE, password: c.password,
    connectionTimeoutMillis: timeoutMs ?? WRITE_CONNECT_TIMEOUT_MS, query_timeout: timeoutMs ?? WRITE_QUERY_TIMEOUT_MS,
    statement_timeout: timeoutMs ?? WRITE_QUERY_TIMEOUT_MS, application_name: 'bench-ha-writer',
  });
  client.on('error', () => undefined);
  return client;
}

/** Drop a client without waiting: end() on a connection to a dead server can hang. */
function drop(client: Client | undefined): void {
  client?.end().catch(() => undefined);
}

const INSERT = `insert into ${WRITES_TABLE} (tag) values ($1) returning host(inet_server_addr()) as addr`;

/** Create the table if needed and write one row through rw; false on any error. */
export async function writeOnce(c: HaCluster): Promise<boolean> {
  const client = pgClient(c);
  try {
    await client.connect();
    await client.query(`create table if not exists ${WRITES_TABLE} (id bigserial primary key, at timestamptz not null default now(), tag text not null)`);
    await client.query(INSERT, ['health']);
    return true;
  } catch {
    return false;
  } finally {
    drop(client);
  }
}

export interface WriteOk {
  /** Which of the writer's connections made it (0-based), or PROBE. */
  conn: number;
  /** performance.now() when the attempt started and when the commit was acknowledged. */
  start: number;
  end: number;
  /** The server's address on the cluster network (inet_server_addr), i.e. which member took it. */
  addr: string;
}

/** Writer connections: each writes, waits WRITE_INTERVAL_MS, writes again on the same connection. */
export const WRITER_CONNECTIONS = 3;
/**
 * Besides them, a fresh connection starts a write every PROBE_EVERY_MS whatever the others do.
 * Connections that fail together (the old leader stops, HAProxy holds new ones ~1 s between its
 * retries) fall into the same 1 s timeout rhythm; the probes show within ~0.1 s when a *new*
 * connection can write again.
 */
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 2000;
/** `conn` of a write made by a probe. */
export const PROBE = -1;

/**
 * A client writing continuously through rw: WRITER_CONNECTIONS connections, each in its own loop
 * (a row, then WRITE_INTERVAL_MS, then the next row; when a write or a connect fails or takes over
 * ~1 s the connection is dropped and a fresh one is tried WRITE_RETRY_MS later, as an application
 * with a pool would), plus a one-shot connection every PROBE_EVERY_MS. All acknowledged writes
 * form one stream (`oks`, in order of acknowledgement).
 */
export class Writer {
  readonly oks: WriteOk[] = [];
  failures = 0;
  probeFailures = 0;
  lastError?: string;
  /** Failed attempts of the connections (not probes): when (performance.now()), which one, the error. */
  readonly errors: { t: number; conn: number; msg: string }[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private probes = new Set<Promise<void>>();

  constructor(private readonly c: HaCluster, private readonly tag: string, private readonly connections = WRITER_CONNECTIONS) {}

  start(): void {
    for (let i = 0; i < this.connections; i++) {
      const offset = (i * (WRITE_INTERVAL_MS + WRITE_RETRY_MS)) / this.connections;
      this.loops.push(pause(offset).then(() => this.run(i)));
    }
    this.loops.push(this.probeLoop());
  }

  private async probeLoop(): Promise<void> {
    while (!this.stopped) {
      const p = this.probe().finally(() => this.probes.delete(p));
      this.probes.add(p);
      await pause(PROBE_EVERY_MS);
    }
    await Promise.all([...this.probes]);
  }

  private async probe(): Promise<void> {
    const start = now();
    const client = pgClient(this.c, PROBE_TIMEOUT_MS);
    try {
      await client.connect();
      const r = await client.query<{ addr: string }>(INSERT, [`${this.tag}-probe`]);
      this.oks.push({ conn: PROBE, start, end: now(), addr: r.rows[0]?.addr ?? '' });
    } catch {
      this.probeFailures++;
    } finally {
      drop(client);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async run(conn: number): Promise<void> {
    let client: Client | undefined;
    while (!this.stopped) {
      const start = now();
      try {
        if (!client) {
          client = pgClient(this.c);
          await client.connect();
        }
        const r = await client.query<{ addr: string }>(INSERT, [this.tag]);
        this.oks.push({ conn, start, end: now(), addr: r.rows[0]?.addr ?? '' });
        await pause(WRITE_INTERVAL_MS);
      } catch (err) {
        this.failures++;
        this.lastError = (err as Error).message;
        this.errors.push({ t: now(), conn, msg: this.lastError });
        drop(client);
        client = undefined;
        await pause(WRITE_RETRY_MS);
      }
    }
    drop(client);
  }

  /** Failed attempts from `t0` on, condensed: "<s> c<conn> <error>" when a connection's error changes. */
  errorSummary(t0: number): string[] {
    const last = new Map<number, string>();
    const out: string[] = [];
    for (const e of this.errors) {
      if (e.t < t0 || last.get(e.conn) === e.msg) continue;
      last.set(e.conn, e.msg);
      out.push(`${fmt(secs(e.t - t0))} c${e.conn} ${e.msg}`);
    }
    return out;
  }

  /** The first write acknowledged that started at or after `t`. */
  firstStartedAfter(t: number, pred: (w: WriteOk) => boolean = () => true): WriteOk | undefined {
    return this.oks.find((w) => w.start >= t && pred(w));
  }

  /** Of connection `conn` only (0 .. WRITER_CONNECTIONS-1). */
  firstOfConnAfter(t: number, conn: number): WriteOk | undefined {
    return this.oks.find((w) => w.start >= t && w.conn === conn);
  }

  /** The last write acknowledged before `t`. */
  lastEndedBefore(t: number): WriteOk | undefined {
    return [...this.oks].reverse().find((w) => w.end < t);
  }

  /**
   * Longest time between two consecutive acknowledged writes where the later one ends after `t`:
   * of all connections together, or of connection `conn` alone.
   */
  maxGapAfter(t: number, conn?: number): { gap: number; from: number; to: number } | undefined {
    const oks = conn === undefined ? this.oks : this.oks.filter((w) => w.conn === conn);
    let best: { gap: number; from: number; to: number } | undefined;
    for (let i = 1; i < oks.length; i++) {
      if (oks[i].end < t) continue;
      const gap = oks[i].end - oks[i - 1].end;
      if (!best || gap > best.gap) best = { gap, from: oks[i - 1].end, to: oks[i].end };
    }
    return best;
  }
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

// ---------------------------------------------------------------------------------------------
// Driver: both sides per profile, iterations alternating the order, figures and ratios.

export interface Measurement {
  /** Seconds; `headline` names the one compared and targeted. */
  figures: Record<string, number | undefined>;
  /** Short text per run (what happened: old/new leader, failures). */
  note: string;
  /** Timeline lines printed under the run (Patroni/HAProxy changes, writer errors), seconds from the event. */
  details?: string[];
}

export interface MeasureContext {
  run: number;
  profile: ProfileName;
  /** The leader of the healthy cluster the run starts from. */
  leader: string;
  extra: Record<string, string>;
}

export interface BenchDef {
  bench: 'failover' | 'switchover';
  /** Cluster name prefix part: bench-<short>-<id>-<profile>. */
  short: string;
  headline: string;
  /** Columns printed per run and side, key in `figures` → label. */
  columns: [string, string][];
  target(profile: ProfileName): { seconds: number; text: string } | undefined;
  /** Extra options for usage and parseArgs (string options only). */
  extraOptions?: Record<string, { default: string; help: string }>;
  /** Checked once before anything starts; returns a usage error or undefined. */
  validate?(extra: Record<string, string>): Promise<string | undefined>;
  /** Called once per run and side, with a healthy cluster whose leader is `leader`. */
  measure(c: HaCluster, ctx: MeasureContext): Promise<Measurement>;
  /** Print how the headline is measured, once at the start. */
  describe(extra: Record<string, string>): string;
}

interface SideRun {
  measurement?: Measurement;
  healthyWaitS?: number;
  error?: string;
}

interface Iteration {
  run: number;
  order: Side[];
  load1Before: number;
  load1After?: number;
  dbaas?: SideRun;
  plain?: SideRun;
  ratio?: number;
}

interface ProfileResult {
  profile: ProfileName;
  iterations: Iteration[];
  median: Record<string, Record<string, number | undefined>>;
  ratio?: number;
  target?: { seconds: number; value?: number; result: string };
  setupError?: string;
}

function usage(def: BenchDef): string {
  const extra = Object.entries(def.extraOptions ?? {}).map(([k, v]) => ` [--${k} ${v.help}]`).join('');
  return `usage: node dist/bench/${def.bench}.js [--runs N] [--profile default|fast] [--only dbaas|plain]${extra}`;
}

async function preflight(): Promise<void> {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'client', 'main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` first');
  }
  const r = await run('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGES.etcd, IMAGES.postgres, IMAGES.haproxy]);
  if (r.code !== 0) throw new Error(`images missing (run \`npx dbaas dev up\`): ${r.stderr.trim()}`);
}

const fmtRow = (cells: string[], widths: number[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 8)).join('  ');

async function runProfile(def: BenchDef, profile: ProfileName, runs: number, sides: Side[], id: string, extra: Record<string, string>): Promise<ProfileResult> {
  const out: ProfileResult = { profile, iterations: [], median: {} };
  const clusters: Partial<Record<Side, HaCluster>> = {};
  const p = PROFILES[profile];
  console.log(`\n=== profile ${profile} (ttl ${p.patroni.ttl}, loop_wait ${p.patroni.loopWait}, retry_timeout ${p.patroni.retryTimeout}; ` +
    `HAProxy inter ${p.haproxy.interMs} ms fastinter ${p.haproxy.fastInterMs} ms downinter ${p.haproxy.downInterMs} ms fall ${p.haproxy.fall} rise ${p.haproxy.rise}) ===`);
  try {
    // Set-up, not timed. Both clusters stay up for the whole profile, so both sides run on the
    // same machine state, iterations alternating.
    for (const side of sides) {
      checkAbort();
      const t0 = now();
      if (side === 'dbaas') {
        const name = `bench-${def.short}-${id}-${profile}`;
        console.log(`  set-up dbaas: cluster create ${name} --replicas ${REPLICAS} --profile ${profile}`);
        clusters.dbaas = await createDbaasCluster(name, profile);
      } else {
        const prefix = `bench-plain-${def.short}-${id}-${profile}`;
        console.log(`  set-up plain: ${prefix}-* (docker network/volume/run/create/cp/start)`);
        clusters.plain = await startPlainCluster(prefix, profile);
      }
      const h = await waitHealthy(clusters[side] as HaCluster);
      const c = clusters[side] as HaCluster;
      console.log(`  set-up ${side}: healthy after ${fmt(secs(now() - t0))} s, leader ${h.leader}, rw port ${c.ports.rw}`);
    }
    for (let i = 1; i <= runs && !abort.signal.aborted; i++) {
      const order = i % 2 === 1 ? sides : [...sides].reverse();
      const it: Iteration = { run: i, order, load1Before: load1() };
      out.iterations.push(it);
      console.log(`\n  run ${i}/${runs} (${order.join(', ')}), load1 ${it.load1Before}`);
      for (const side of order) {
        const c = clusters[side] as HaCluster;
        const sr: SideRun = {};
        it[side] = sr;
        try {
          checkAbort();
          const h = await waitHealthy(c);
          sr.healthyWaitS = h.seconds;
          checkAbort();
          sr.measurement = await def.measure(c, { run: i, profile, leader: h.leader, extra });
          const f = sr.measurement.figures;
          console.log(`    ${side}: ${def.columns.map(([k, label]) => `${label} ${fmt(f[k])}`).join(', ')} (${sr.measurement.note}; ` +
            `healthy wait before ${fmt(sr.healthyWaitS)} s)`);
          if (sr.measurement.details?.length) console.log(`      timeline: ${sr.measurement.details.join('; ')}`);
        } catch (err) {
          if (err instanceof Interrupted) throw err;
          sr.error = (err as Error).message;
          console.error(`    ${side}: run ${i} failed: ${sr.error}`);
        }
      }
      const d = it.dbaas?.measurement?.figures[def.headline];
      const pl = it.plain?.measurement?.figures[def.headline];
      if (d !== undefined && pl !== undefined && pl > 0) it.ratio = Math.round((d / pl) * 100) / 100;
      it.load1After = load1();
    }
  } catch (err) {
    if (!(err instanceof Interrupted)) {
      out.setupError = (err as Error).message;
      console.error(`  profile ${profile} failed: ${out.setupError}`);
    }
  } finally {
    for (const side of sides) {
      const c = clusters[side];
      if (!c) continue;
      console.log(`  removing ${side} ${c.name}`);
      await c.remove().catch((err: unknown) => process.stderr.write(`    warning: removing ${c.name}: ${(err as Error).message}\n`));
    }
  }

  // Summary for this profile.
  for (const side of sides) {
    out.median[side] = {};
    for (const [k] of def.columns) out.median[side][k] = median(out.iterations.map((x) => x[side]?.measurement?.figures[k]));
  }
  const md = out.median.dbaas?.[def.headline];
  const mp = out.median.plain?.[def.headline];
  out.ratio = md !== undefined && mp !== undefined && mp > 0 ? Math.round((md / mp) * 100) / 100 : undefined;
  const labels = def.columns.map(([, l]) => l);
  const widths = [4, ...sides.flatMap(() => labels.map((l) => Math.max(l.length, 6))), 6, 12];
  const group = (s: Side): string[] => labels.map((_, j) => (j === 0 ? s : ''));
  console.log(`\n  ${profile}: seconds per run and side`);
  console.log(`  ${fmtRow(['', ...sides.flatMap(group), '', ''], widths)}`);
  console.log(`  ${fmtRow(['run', ...sides.flatMap(() => labels), 'ratio', 'load1 b/a'], widths)}`);
  for (const it of out.iterations) {
    const cells = sides.flatMap((s) => def.columns.map(([k]) => (it[s]?.error ? 'ERR' : fmt(it[s]?.measurement?.figures[k]))));
    console.log(`  ${fmtRow([String(it.run), ...cells, fmt(it.ratio, 2), `${it.load1Before}/${it.load1After ?? '-'}`], widths)}`);
  }
  console.log(`  ${fmtRow(['med', ...sides.flatMap((s) => def.columns.map(([k]) => fmt(out.median[s][k]))), fmt(out.ratio, 2), ''], widths)}`);
  if (out.ratio !== undefined) console.log(`  ratio dbaas/plain of the medians (${def.headline}): ${fmt(out.ratio, 2)}`);
  const t = def.target(profile);
  if (t) {
    out.target = { seconds: t.seconds, value: md, result: md === undefined ? 'n/a' : md <= t.seconds ? 'PASS' : 'MISS' };
    console.log(`  target ${t.text}: ${out.target.result} (dbaas median ${fmt(md)} s${mp !== undefined ? `, plain ${fmt(mp)} s` : ''})`);
  }
  return out;
}

/** Parse the common options, run each profile, print BENCH_JSON; returns the exit code. */
export async function runHaBench(def: BenchDef): Promise<number> {
  const extraSpec = Object.fromEntries(Object.entries(def.extraOptions ?? {}).map(([k, v]) => [k, { type: 'string' as const, default: v.default }]));
  let opts: Record<string, string | boolean | undefined>;
  try {
    opts = parseArgs({
      options: {
        runs: { type: 'string', default: '5' },
        profile: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        ...extraSpec,
      },
      strict: true,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage(def)}`);
    return 2;
  }
  if (opts.help) {
    console.log(usage(def));
    return 0;
  }
  const runs = Number(opts.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`--runs must be a positive integer\n${usage(def)}`);
    return 2;
  }
  const profileOpt = opts.profile;
  if (profileOpt !== undefined && (typeof profileOpt !== 'string' || !isProfileName(profileOpt))) {
    console.error(`--profile must be default or fast\n${usage(def)}`);
    return 2;
  }
  const only = opts.only;
  if (only !== undefined && only !== 'dbaas' && only !== 'plain') {
    console.error(`--only must be dbaas or plain\n${usage(def)}`);
    return 2;
  }
  const extra = Object.fromEntries(Object.keys(def.extraOptions ?? {}).map((k) => [k, String(opts[k])]));
  const problem = await def.validate?.(extra);
  if (problem) {
    console.error(`${problem}\n${usage(def)}`);
    return 2;
  }
  const profiles: ProfileName[] = profileOpt ? [profileOpt as ProfileName] : ['default', 'fast'];
  const sides: Side[] = only ? [only as Side] : ['dbaas', 'plain'];
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await preflight();

  const id = crypto.randomBytes(3).toString('hex');
  const startedAt = new Date().toISOString();
  const others = (await run('docker', ['ps', '-q'])).stdout.split('\n').filter(Boolean).length;
  console.log(`bench ${def.bench}: ${runs} run(s) per profile and side, profiles ${profiles.join(', ')}, sides ${sides.join(', ')}, ` +
    `${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${others} other container(s) running, ` +
    `started ${startedAt}`);
  console.log(def.describe(extra));

  const results: ProfileResult[] = [];
  for (const profile of profiles) {
    if (abort.signal.aborted) break;
    results.push(await runProfile(def, profile, runs, sides, id, extra));
  }
  console.log(`\nload1 at the end: ${load1()}`);
  console.log(`BENCH_JSON ${JSON.stringify({
    bench: def.bench, runs, sides, cpus: os.cpus().length, startedAt, extra,
    profiles: results, interrupted: abort.signal.aborted,
  })}`);
  if (abort.signal.aborted) return 130;
  const failed = results.some((r) => r.setupError || r.iterations.some((it) => sides.some((s) => it[s]?.error)));
  return failed ? 1 : 0;
}
