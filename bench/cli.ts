/**
 * bench/cli: how long the CLI takes to answer, as a process (node's start included), on an
 * existing cluster: `dbaas --help`, `dbaas cluster status NAME` and `dbaas connect NAME` (it prints
 * the URI; it never starts psql), N times each, interleaved; and, for comparison, the same
 * question asked by hand: `docker exec <leader> patronictl list`.
 *
 *   node dist/bench/cli.js --cluster NAME [--runs 10]
 *
 * Targets (issue 17, medians): --help ≤ 0.25 s, cluster status ≤ 0.5 s, connect ≤ 0.3 s. Prints
 * min/median/max, PASS/MISS and the 1-minute load average before and after; never asserts. It
 * changes nothing on the cluster. Run it alone on the machine.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, resolvePaths } from '../common/paths';
import { LOCAL_HOST } from '../common/inventory';
import { PATRONI_CONFIG_PATH } from '../common/render/patroni';
import { readHosts } from '../activities/hosts/host-records';
import { exec, type Exec } from './proc';
import { exitWith, fmt, load1, median } from './lib';

const CLI = path.join(PROJECT_ROOT, 'bin', 'dbaas.js');
const USAGE = 'usage: node dist/bench/cli.js --cluster NAME [--runs N]';

interface Case {
  name: string;
  /** Seconds; undefined: reported, no target (the by-hand side). */
  target?: number;
  run: () => Promise<Exec>;
}

const dbaas = (args: string[]) => (): Promise<Exec> => exec(process.execPath, [CLI, ...args]);

function options(): { cluster: string; runs: number } | number {
  try {
    const v = parseArgs({ options: { cluster: { type: 'string' }, runs: { type: 'string', default: '10' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    if (!v.cluster) throw new Error('--cluster NAME is required (an existing cluster: the bench only reads it)');
    const runs = Number(v.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
    return { cluster: v.cluster, runs };
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
}

/** The leader's container and the docker flags that reach its host's engine, from `cluster status --json`. */
async function leaderContainer(cluster: string): Promise<{ container: string; dockerArgs: string[] }> {
  const r = await dbaas(['cluster', 'status', cluster, '--json'])();
  if (r.code !== 0) throw new Error(`dbaas cluster status ${cluster} exited with ${r.code}: ${r.out.trim().split('\n').slice(-2).join(' / ')}`);
  const s = JSON.parse(r.stdout) as { leader: string | null; members: { name: string; host: string; container: { name: string } }[] };
  const leader = s.members.find((m) => m.name === s.leader);
  if (!leader) throw new Error(`cluster ${cluster} has no leader right now`);
  if (leader.host === LOCAL_HOST) return { container: leader.container.name, dockerArgs: [] };
  const host = readHosts(resolvePaths()).find((h) => h.name === leader.host);
  if (!host) throw new Error(`the leader runs on host ${leader.host}, which hosts.json does not name`);
  return { container: leader.container.name, dockerArgs: ['-H', host.docker] };
}

const lastLine = (e: Exec): string => e.out.trim().split('\n').pop() ?? '';

async function main(): Promise<number> {
  const o = options();
  if (typeof o === 'number') return o;
  const leader = await leaderContainer(o.cluster);
  const cases: Case[] = [
    { name: 'dbaas --help', target: 0.25, run: dbaas(['--help']) },
    { name: `dbaas cluster status ${o.cluster}`, target: 0.5, run: dbaas(['cluster', 'status', o.cluster]) },
    { name: `dbaas connect ${o.cluster}`, target: 0.3, run: dbaas(['connect', o.cluster]) },
    { name: `by hand: docker exec ${leader.container} patronictl list`, run: () => exec('docker', [...leader.dockerArgs, 'exec', leader.container, 'patronictl', '-c', PATRONI_CONFIG_PATH, 'list']) },
  ];
  // One warm-up of each (the page cache, Docker's exec path), not counted.
  for (const c of cases) await c.run();
  const loadBefore = load1();
  const times = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const failures = new Map<Case, string[]>(cases.map((c) => [c, []]));
  for (let i = 0; i < o.runs; i++) {
    // Rotated each run: no command always follows the same one.
    for (const c of [...cases.slice(i % cases.length), ...cases.slice(0, i % cases.length)]) {
      const r = await c.run();
      if (r.code === 0) times.get(c)!.push(r.ms / 1000);
      else failures.get(c)!.push(`exit ${r.code}: ${lastLine(r)}`);
    }
  }
  const loadAfter = load1();
  console.log(`CLI wall time per process, ${o.runs} runs each, cluster ${o.cluster}; ${os.cpus().length} cores, node ${process.version}`);
  console.log(`load average (1 min): ${loadBefore} before, ${loadAfter} after`);
  for (const c of cases) {
    const t = [...times.get(c)!].sort((a, b) => a - b);
    const m = median(t);
    const verdict = c.target === undefined ? '' : `   target ≤ ${c.target} s: ${m !== undefined && m <= c.target ? 'PASS' : 'MISS'}`;
    console.log(`  ${c.name}: min ${fmt(t[0], 3)} s, median ${fmt(m, 3)} s, max ${fmt(t[t.length - 1], 3)} s${verdict}`);
    const failed = failures.get(c)!;
    if (failed.length > 0) console.log(`    ${failed.length} run(s) failed, not counted; last: ${failed[failed.length - 1]}`);
  }
  return 0;
}

exitWith('cli', main());
