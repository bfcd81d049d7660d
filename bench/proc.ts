/**
 * Process plumbing shared by the benchmarks that drive the dbaas CLI and `docker`
 * (bench/create-cluster, bench/failover, bench/switchover): interruption, running commands, the
 * CLI in its own process group, and the start of a bench (signals, preflight, run id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../common/paths';
import { IMAGES } from '../common/names';

const CLI = path.join(PROJECT_ROOT, 'bin', 'dbaas.js');

// ---------------------------------------------------------------------------------------------
// Interruption: the first SIGINT/SIGTERM stops at the next safe point and cleans up; a second
// one exits at once, printing what may be left behind.

export const abort = new AbortController();
/** What a second signal would leave behind ("dbaas cluster X", "plain P-*"); callers add and delete. */
export const leftovers = new Set<string>();
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

export async function getJson(url: string, timeoutMs = 2000): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return res.json();
}

/**
 * The dbaas CLI in its own process group: a Ctrl-C on the terminal reaches only the bench, which
 * lets a running command finish (the workflow would go on anyway) and then cleans up.
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

/**
 * `dbaas cluster delete NAME`, its output echoed after `indent`. Exit 0, or 2 ("no cluster named":
 * a failed create already compensated), clears the leftover; anything else is a warning.
 */
export async function deleteDbaasCluster(name: string, indent: string): Promise<void> {
  const { exited } = cli(['cluster', 'delete', name], (l) => process.stdout.write(`${indent}[dbaas delete] ${l}\n`));
  const code = await exited;
  if (code === 0 || code === 2) leftovers.delete(`dbaas cluster ${name}`);
  else process.stderr.write(`    warning: dbaas cluster delete ${name} exited with ${code}\n`);
}

// ---------------------------------------------------------------------------------------------
// Start of a bench

async function preflight(): Promise<void> {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'client', 'main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` first');
  }
  const r = await run('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGES.etcd, IMAGES.postgres, IMAGES.haproxy]);
  if (r.code !== 0) throw new Error(`images missing (run \`npx dbaas dev up\`): ${r.stderr.trim()}`);
}

/**
 * After the options are parsed: take over SIGINT/SIGTERM, check the CLI is built and the images
 * exist, and pick the run id that names everything the bench creates.
 */
export async function startBench(): Promise<{ id: string; startedAt: string; otherContainers: number }> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await preflight();
  const id = crypto.randomBytes(3).toString('hex');
  const startedAt = new Date().toISOString();
  const otherContainers = (await run('docker', ['ps', '-q'])).stdout.split('\n').filter(Boolean).length;
  return { id, startedAt, otherContainers };
}
