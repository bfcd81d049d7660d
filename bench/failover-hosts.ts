/**
 * bench/failover --hosts N: on one dbaas cluster across N simulated hosts (fast profile, sync,
 * three etcd members), the seconds from losing the leader until a write through the cluster's
 * multi-host rw URI commits again, for the two ways of losing it, alternating in the same run:
 *
 *   member: `docker kill -s KILL` of the leader's container on its host (the host stays up);
 *   host:   `scripts/sim-hosts.sh crash hK` on the leader's host: its link goes down and every
 *           process on it (dockerd, containers, the host's dbaas worker) is SIGKILLed.
 *
 * The writer is what an application does with the URI `dbaas connect` prints: one libpq
 * connection per write (psql, the multi-host URI with target_session_attrs=read-write and
 * connect_timeout=3), two such loops 50 ms apart, 100 ms between attempts. The figure is from
 * the kill (or crash) command returning to the commit of the first write that started after it.
 * After each round the member (`docker start`) or host (`revive`, then `dev hosts up` for its
 * worker) comes back, and the next round waits until every member streams again.
 *
 * h1 is the swarm manager and is never crashed (scripts/sim-hosts.sh): before a host round whose
 * leader is on h1, a switchover moves the leader to the synchronous standby (not timed).
 *
 * A benchmark, not a test: figures, the ratio host/member and PASS/MISS against the issue's
 * target (lost host ≤ 15 s median, fast profile), with the load average.
 *   node dist/bench/failover.js --hosts 3 [--runs N]
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, load1, median, secs } from './lib';
import { BENCH_VERSION_ARGS, deleteDbaasCluster, leftovers, now, pause, run, runCli } from './proc';
import { cliMust } from './ha-lib';

const TARGET_HOST_S = 15;
const BASELINE_MS = 1500;
const TAIL_MS = 500;
const RECOVER_TIMEOUT_MS = 180_000;
const SIM_SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'sim-hosts.sh');
const simSocket = (host: string): string => `unix:///var/lib/dbaas-sim/${host}/docker.sock`;

type Kind = 'member' | 'host';

interface Member { name: string; host?: string; role: string; state: string; lag: number | null }
interface Status { leader: string | null; members: Member[]; unreachableHosts?: string[] }

interface Attempt { start: number; end: number; ok: boolean }

/** Writes through the rw URI, one psql connection per row; the password goes in PGPASSWORD, never on a command line. */
class UriWriter {
  readonly attempts: Attempt[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  constructor(private readonly uri: string, private readonly password: string, private readonly table: string) {}

  start(): void {
    this.loops = [0, 50].map((offset, loop) => this.loop(offset, loop));
  }

  private async loop(offset: number, loop: number): Promise<void> {
    await pause(offset);
    for (let i = 0; !this.stopped; i++) {
      const start = now();
      const ok = await psqlOk(this.uri, this.password, `insert into ${this.table} values (${loop * 1_000_000 + i})`);
      this.attempts.push({ start, end: now(), ok });
      await pause(100);
    }
  }

  firstOkStartedAfter(t: number): Attempt | undefined {
    return this.attempts.filter((a) => a.ok && a.start >= t).sort((a, b) => a.end - b.end)[0];
  }

  failuresAfter(t: number): number {
    return this.attempts.filter((a) => !a.ok && a.start >= t).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

function psqlOk(uri: string, password: string, sql: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('psql', [uri, '-XAtqc', sql], { env: { ...process.env, PGPASSWORD: password }, stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

async function statusOf(name: string): Promise<Status> {
  return JSON.parse(await cliMust(['cluster', 'status', name, '--json'], 'status', 60_000, false)) as Status;
}

/** Every member running and streaming (lag 0 or a leader), a synchronous standby named, no host unreachable. */
async function waitHealthy(name: string, members: number): Promise<Status> {
  const deadline = now() + RECOVER_TIMEOUT_MS;
  let s: Status | undefined;
  while (now() < deadline) {
    s = await statusOf(name).catch(() => undefined);
    const ok = s && s.leader && (s.unreachableHosts ?? []).length === 0 && s.members.length === members &&
      s.members.every((m) => m.state === 'running' || m.state === 'streaming');
    // Synchronous mode promotes only the synchronous standby: without one named yet (right after a
    // switchover or a member's return) a lost leader would leave no candidate.
    const replicasOk = s?.members.filter((m) => m.name !== s?.leader).every((m) => m.lag === 0) && s?.members.some((m) => m.role === 'sync_standby');
    if (ok && replicasOk) return s!;
    await pause(1000);
  }
  throw new Error(`cluster ${name} not healthy after ${RECOVER_TIMEOUT_MS / 1000} s: ${JSON.stringify(s?.members ?? null)}`);
}

const sim = (...args: string[]): Promise<unknown> => run('bash', [SIM_SCRIPT, ...args]).then((r) => {
  if (r.code !== 0) throw new Error(`sim-hosts.sh ${args.join(' ')}: ${r.stderr.trim()}`);
});

interface Round { kind: Kind; seconds: number; failures: number; leader: string; host: string; newLeader: string | null }

async function round(name: string, kind: Kind, uri: string, password: string, hosts: number): Promise<Round> {
  let s = await waitHealthy(name, 3);
  let leader = s.members.find((m) => m.name === s.leader)!;
  if (kind === 'host' && leader.host === 'h1') {
    const target = s.members.find((m) => m.role === 'sync_standby' && m.host !== 'h1') ?? s.members.find((m) => m.host !== 'h1')!;
    await cliMust(['switchover', name, '--to', target.name], 'switchover', 120_000, false);
    s = await waitHealthy(name, 3);
    leader = s.members.find((m) => m.name === s.leader)!;
  }
  const host = leader.host ?? 'local';
  const ctr = `dbaas-${name}-${leader.name}`;
  const writer = new UriWriter(uri, password, 'failover_hosts');
  writer.start();
  try {
    await pause(BASELINE_MS);
    if (!writer.attempts.some((a) => a.ok)) throw new Error('no write through rw before the kill');
    if (kind === 'member') {
      const r = await run('docker', ['-H', simSocket(host), 'kill', '-s', 'KILL', ctr]);
      if (r.code !== 0) throw new Error(`docker kill ${ctr} on ${host}: ${r.stderr.trim()}`);
    } else {
      await sim('crash', host.slice(1));
    }
    const t = now();
    const deadline = t + 120_000;
    let first = writer.firstOkStartedAfter(t);
    while (!first && now() < deadline) {
      await pause(50);
      first = writer.firstOkStartedAfter(t);
    }
    await pause(TAIL_MS);
    if (!first) throw new Error(`no write through rw within 120 s after losing ${leader.name} (${kind})`);
    const after = await statusOf(name).catch(() => undefined);
    return { kind, seconds: secs(first.end - t), failures: writer.failuresAfter(t), leader: leader.name, host, newLeader: after?.leader ?? null };
  } finally {
    await writer.stop();
    // Back to three members (not timed): the member restarted, or the host revived and its worker started again.
    if (kind === 'member') {
      await run('docker', ['-H', simSocket(host), 'start', ctr]);
    } else {
      await sim('revive', host.slice(1));
      await cliMust(['dev', 'hosts', 'up', String(hosts)], 'dev hosts up', 600_000, false);
    }
  }
}

async function main(): Promise<number> {
  const v = parseArgs({ options: { hosts: { type: 'string' }, runs: { type: 'string', default: '5' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  const usage = 'usage: node dist/bench/failover.js --hosts 3 [--runs N]';
  const hosts = Number(v.hosts);
  const runs = Number(v.runs);
  if (v.help) { console.log(usage); return 0; }
  if (hosts !== 3 || !Number.isInteger(runs) || runs < 1) { console.error(usage); return 2; }
  const name = `fohosts-${crypto.randomBytes(3).toString('hex')}`;
  console.log(`bench failover --hosts ${hosts}: cluster ${name}, ${runs} round(s) of each kind, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await cliMust(['dev', 'hosts', 'up', String(hosts)], 'dev hosts up', 900_000, false);
  leftovers.add(`dbaas cluster ${name}`);
  const rounds: Round[] = [];
  try {
    await cliMust(['cluster', 'create', name, ...BENCH_VERSION_ARGS, '--replicas', '2', '--etcd', '3', '--sync', '--profile', 'fast', '--no-backups'], 'create', 300_000, false);
    // A multi-host URI (WHATWG URL does not parse those): the password moves to PGPASSWORD.
    const printed = (await runCli(['connect', name, '--superuser'])).stdout.trim();
    const parts = /^(postgres(?:ql)?:\/\/[^:@/]+):([^@]*)@(.*)$/.exec(printed);
    if (!parts) throw new Error('dbaas connect printed no URI with a password');
    const password = decodeURIComponent(parts[2]);
    const rw = `${parts[1]}@${parts[3]}`;
    if (!(await psqlOk(rw, password, 'create table failover_hosts (id bigint)'))) throw new Error('create table through rw failed');
    for (let i = 0; i < runs; i++) {
      // Alternate which kind goes first, so neither always runs right after the other's recovery.
      for (const kind of (i % 2 === 0 ? ['member', 'host'] : ['host', 'member']) as Kind[]) {
        const r = await round(name, kind, rw, password, hosts);
        rounds.push(r);
        console.log(`  run ${i + 1} ${kind.padEnd(6)} ${fmt(r.seconds)} s  (${r.leader} on ${r.host} → ${r.newLeader ?? '?'}; ${r.failures} failed attempts; load ${load1()})`);
      }
    }
  } finally {
    await deleteDbaasCluster(name, '  ');
  }
  const med = (k: Kind): number | undefined => median(rounds.filter((r) => r.kind === k).map((r) => r.seconds));
  const m = med('member');
  const h = med('host');
  console.log(`median loss→write: member killed ${fmt(m)} s, host lost ${fmt(h)} s, ratio host/member ${m && h ? (h / m).toFixed(2) : '-'} (load ${load1()})`);
  console.log(`target: lost host ≤ ${TARGET_HOST_S} s median (fast profile): ${h !== undefined && h <= TARGET_HOST_S ? 'PASS' : 'MISS'}`);
  return 0;
}

export function runFailoverHosts(): void {
  main().then((code) => process.exit(code), (err: unknown) => {
    console.error(`bench failover --hosts: ${(err as Error).message}`);
    process.exit(1);
  });
}
