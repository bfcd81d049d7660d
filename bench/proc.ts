/**
 * Process plumbing shared by the benchmarks that drive the dbaas CLI and `docker`
 * (bench/create-cluster, bench/failover, bench/switchover, bench/add-replica,
 * bench/backup-restore): interruption, running commands, the CLI in its own process group, and
 * the start of a bench (signals, preflight, run id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../common/paths';
import { DEFAULT_DATABASE } from '../common/service-users';
import { IMAGES } from '../common/images';
import { containerName } from '../common/resource-names';
import { SOCKET_DIR } from '../common/render/patroni';
import { secs } from './lib';

const CLI = path.join(PROJECT_ROOT, 'bin', 'dbaas.js');

// ---------------------------------------------------------------------------------------------
// Interruption: the first SIGINT/SIGTERM stops at the next safe point and cleans up; a second
// one exits at once, printing what may be left behind.

export const abort = new AbortController();
/** What a second signal would leave behind ("dbaas cluster X", "plain P-*"); callers add and delete. */
export const leftovers = new Set<string>();
let interrupts = 0;
/** bench/add-replica and bench/backup-restore word it shorter: "interrupted", "exiting". */
let terse = false;

/** First SIGINT/SIGTERM: abort (clean up at the next safe point); second: exit at once. */
export function onSignal(sig: NodeJS.Signals): void {
  interrupts++;
  if (interrupts === 1) {
    process.stderr.write(`\n${sig}: stopping after cleanup (send it again to exit at once)\n`);
    abort.abort(new Error(terse ? 'interrupted' : `interrupted by ${sig}`));
    return;
  }
  process.stderr.write(`\n${sig} again: exiting${terse ? '' : ' without finishing cleanup'}. Possibly left: ${[...leftovers].join(', ') || 'nothing'}\n`);
  process.exit(130);
}

function takeSignals(): void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export class Interrupted extends Error {
  override name = 'Interrupted';
}

export function checkAbort(): void {
  if (abort.signal.aborted) throw new Interrupted((abort.signal.reason as Error | undefined)?.message ?? 'interrupted');
}

/** Sleep that an interruption cuts short. */
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
export function run(cmd: string, args: string[], input?: Buffer | string, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
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

export async function getJson(url: string, timeoutMs = 2000): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return res.json();
}

export interface Exec {
  code: number | string;
  out: string; // stdout and stderr interleaved
  stdout: string;
  ms: number;
}

/**
 * Spawn in its own process group: a Ctrl-C on the terminal reaches only the bench, which lets a
 * running command finish and then cleans up. stdout+stderr go to `onLine` line by line.
 */
export function spawnLines(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; onLine?: (l: string) => void } = {}): { child: ChildProcess; exited: Promise<Exec> } {
  const t0 = performance.now();
  const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let stdout = '';
  let buf = '';
  const feed = (c: Buffer): void => {
    out += c.toString();
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      o.onLine?.(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    feed(c);
  });
  child.stderr.on('data', feed);
  const exited = new Promise<Exec>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (buf) o.onLine?.(buf);
      resolve({ code: code ?? signal ?? 'unknown', out, stdout, ms: performance.now() - t0 });
    });
  });
  return { child, exited };
}

/** `spawnLines` to the exit: the code, the output and how long it took. */
export const exec = (cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; onLine?: (l: string) => void } = {}): Promise<Exec> =>
  spawnLines(cmd, args, o).exited;

/**
 * The dbaas CLI in its own process group: a Ctrl-C on the terminal reaches only the bench, which
 * lets a running command finish (the workflow would go on anyway) and then cleans up.
 */
export function cli(args: string[], onLine: (l: string) => void): { child: ChildProcess; exited: Promise<number | string> } {
  const { child, exited } = spawnLines(process.execPath, [CLI, ...args], { onLine });
  return { child, exited: exited.then((r) => r.code) };
}

/** The dbaas CLI to its exit (see `cli`). */
export const runCli = (args: string[], onLine?: (l: string) => void): Promise<Exec> => exec(process.execPath, [CLI, ...args], { onLine });

/** An `onLine` that echoes the line as `    [tag] line`. */
export const echo = (tag: string) => (l: string): void => void process.stdout.write(`    [${tag}] ${l}\n`);

/** `exec` that throws, with the last lines of the output, unless the exit is 0. */
export async function must(cmd: string, args: string[], what: string, onLine?: (l: string) => void): Promise<Exec> {
  const r = await exec(cmd, args, { onLine });
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${r.out.trim().split('\n').slice(-3).join(' / ')}`);
  return r;
}

/** The dbaas CLI through `must`. */
export const dbaas = (args: string[], what: string, onLine?: (l: string) => void): Promise<Exec> =>
  must(process.execPath, [CLI, ...args], what, onLine);

/** The CLI's "✓ step (Xs)" lines, with the names in `names` replaced so runs can be compared, and its "done in Xs". */
export function stepCollector(names: Record<string, string>): { onLine: (l: string) => void; steps: Record<string, number>; done: { s?: number } } {
  const steps: Record<string, number> = {};
  const done: { s?: number } = {};
  // Longest first: a restored cluster's name starts with the source's.
  const repl = Object.entries(names).sort((a, b) => b[0].length - a[0].length);
  return {
    steps,
    done,
    onLine: (l: string) => {
      const m = /^✓ (.+) \((\d+(?:\.\d+)?)s\)$/.exec(l);
      if (m) {
        let k = m[1];
        for (const [from, to] of repl) k = k.split(from).join(to);
        steps[k] = Number(m[2]);
      }
      const d = /^done in (\d+(?:\.\d+)?)s$/.exec(l);
      if (d) done.s = Number(d[1]);
    },
  };
}

/**
 * `dbaas cluster delete NAME`, its output echoed after `indent`. Exit 0, or 2 ("no cluster named":
 * a failed create already compensated), clears the leftover; anything else is a warning.
 */
export async function deleteDbaasCluster(name: string, indent: string): Promise<void> {
  const { exited } = cli(['cluster', 'delete', name, '--purge-backups', '--yes'], (l) => process.stdout.write(`${indent}[dbaas delete] ${l}\n`));
  const code = await exited;
  if (code === 0 || code === 2) leftovers.delete(`dbaas cluster ${name}`);
  else process.stderr.write(`    warning: dbaas cluster delete ${name} exited with ${code}\n`);
}

// ---------------------------------------------------------------------------------------------
// Start of a bench

function requireBuiltCli(): void {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'client', 'main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` first');
  }
}

async function preflight(): Promise<void> {
  requireBuiltCli();
  const r = await run('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGES.etcd, IMAGES.postgres, IMAGES.haproxy]);
  if (r.code !== 0) throw new Error(`images missing (run \`npx dbaas dev up\`): ${r.stderr.trim()}`);
}

/**
 * After the options are parsed: take over SIGINT/SIGTERM, check the CLI is built and the images
 * exist, and pick the run id that names everything the bench creates.
 */
export async function startBench(): Promise<{ id: string; startedAt: string; otherContainers: number }> {
  takeSignals();
  await preflight();
  const id = crypto.randomBytes(3).toString('hex');
  const startedAt = new Date().toISOString();
  const otherContainers = (await run('docker', ['ps', '-q'])).stdout.split('\n').filter(Boolean).length;
  return { id, startedAt, otherContainers };
}

/**
 * The start of bench/add-replica and bench/backup-restore, after the options: check the CLI is
 * built and the postgres image exists, take over SIGINT/SIGTERM (worded tersely), pick the run id
 * and the cluster's name `PREFIX-ID`, read the load.
 */
export async function startClusterBench(prefix: string): Promise<{ id: string; name: string; startedAt: string; loadStart: string }> {
  requireBuiltCli();
  if ((await exec('docker', ['image', 'inspect', IMAGES.postgres])).code !== 0) throw new Error(`image ${IMAGES.postgres} missing: run \`npx dbaas dev up\``);
  terse = true;
  takeSignals();
  const id = crypto.randomBytes(3).toString('hex');
  return { id, name: `${prefix}-${id}`, startedAt: new Date().toISOString(), loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
}

// ---------------------------------------------------------------------------------------------
// A loaded dbaas cluster (bench/add-replica, bench/backup-restore)

export interface StatusJson {
  leader?: string;
  members: { name: string; role: string; state: string; lag: number | null }[];
}

export async function status(name: string): Promise<StatusJson> {
  return JSON.parse((await dbaas(['cluster', 'status', name, '--json'], 'cluster status')).stdout) as StatusJson;
}

/** psql in a member's container over the socket (peer auth as postgres); returns the value. */
export async function psql(ctr: string, sql: string): Promise<string> {
  return (await must('docker', ['exec', '-u', 'postgres', ctr, 'psql', '-h', SOCKET_DIR, '-d', DEFAULT_DATABASE, '-XAtc', sql], 'psql')).stdout.trim();
}

export interface LoadedSetup { createS?: number; leader?: string; pgbenchS?: number; dbSize?: string; dbBytes?: number }

/**
 * The major the benches' dbaas clusters run: their plain sides run the 15 image with configs
 * rendered for Patroni 3 (`IMAGES.postgres`), so the dbaas side does too until they follow 17.
 */
export const BENCH_VERSION_ARGS = ['--version', '15'];

/**
 * Set-up, not timed: `cluster create NAME --replicas 1` (a leftover "cluster NAME" until the
 * bench deletes it), then pgbench -i -s `scale` in the leader; fills `setup` as it goes and
 * returns the leader's container.
 */
export async function createLoadedCluster(name: string, scale: number, setup: LoadedSetup, createArgs: string[] = []): Promise<string> {
  leftovers.add(`cluster ${name}`);
  console.log(`\nset-up: cluster create ${name} --replicas 1 ${createArgs.join(' ')}`);
  setup.createS = secs((await dbaas(['cluster', 'create', name, '--replicas', '1', ...BENCH_VERSION_ARGS, ...createArgs], `cluster create ${name}`, echo('create'))).ms);
  checkAbort();
  const st = await status(name);
  if (!st.leader) throw new Error(`${name} has no leader after create`);
  setup.leader = st.leader;
  const leaderCtr = containerName(name, st.leader);
  console.log(`set-up: pgbench -i -s ${scale} in ${leaderCtr}`);
  setup.pgbenchS = secs((await must('docker', ['exec', '-u', 'postgres', leaderCtr, 'pgbench', '-i', '-s', String(scale), '-q',
    '-h', SOCKET_DIR, DEFAULT_DATABASE], 'pgbench -i')).ms);
  return leaderCtr;
}

/** CHECKPOINT in the leader, then the database's size into `setup`; returns [pretty, bytes]. */
export async function checkpointAndSize(leaderCtr: string, setup: LoadedSetup): Promise<[string, string]> {
  await psql(leaderCtr, 'checkpoint');
  const [size, bytes] = (await psql(leaderCtr, `select pg_size_pretty(pg_database_size('${DEFAULT_DATABASE}')) || '|' || pg_database_size('${DEFAULT_DATABASE}')`)).split('|');
  Object.assign(setup, { dbSize: size, dbBytes: Number(bytes) });
  return [size, bytes];
}

/** Seconds from `t0Wall` to the first log line matching each pattern (docker logs -t). */
export async function timeline(ctr: string, t0Wall: number, events: Record<string, RegExp>): Promise<Record<string, number>> {
  const r = await exec('docker', ['logs', '-t', ctr]);
  const lines = r.out.split('\n');
  const tl: Record<string, number> = {};
  for (const [k, re] of Object.entries(events)) {
    const l = lines.find((x) => re.test(x));
    if (l) tl[k] = secs(Date.parse(l.slice(0, l.indexOf(' '))) - t0Wall);
  }
  const started = await exec('docker', ['inspect', '-f', '{{.State.StartedAt}}', ctr]);
  if (started.code === 0) tl.containerStarted = secs(Date.parse(started.out.trim()) - t0Wall);
  return tl;
}
