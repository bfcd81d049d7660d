/**
 * bench/throughput: pgbench tps through each front door of a cluster, against the leader's own
 * port, in the same run, with the CPU time each component spent. Set-up (not timed):
 * `cluster create bench-tp-<id> --replicas 1` (or `--cluster NAME`, an existing cluster, which is
 * then neither created nor deleted), `pgbench -i -s SCALE` in the leader, CHECKPOINT.
 * Sides, for select-only (-S) and tpcb-like, each `pgbench -n -c 8 -j 2 -T S` as the superuser,
 * with the credentials and TLS mode `dbaas connect --superuser` gives:
 *   direct  the leader's PostgreSQL (its container, port 5432: what its published port reaches);
 *   rw      HAProxy rw (5000), which passes TCP through to the leader;
 *   pooled  PgBouncer rw (6432): TLS ends there, a second TLS session goes to HAProxy rw → leader;
 *   pooled-direct (--pooler-direct) a PgBouncer the bench starts with the product pooler's own
 *           /etc/pgbouncer (ini, auth file, certificate) whose [databases] line dials the leader's
 *           container on 5432 instead of HAProxy: what the pooler would cost without the HAProxy
 *           hop. An experiment only: nothing re-points it on a failover (bench/README.md).
 * pgbench runs in one container of dbaas/postgres:local on the cluster's network for every side
 * (`docker exec`), so no side has a docker-proxy hop the others lack, and its CPU is counted by its
 * cgroup like the others'. The order of the sides rotates per run. Before each side (untimed):
 * pgbench's own pre-run vacuum done in the leader (tpcb-like: vacuum branches and tellers,
 * truncate history) and a CHECKPOINT, so no side inherits another's dirty buffers.
 * CPU: each container's cgroup usage (Docker API stats, one-shot) just before and after the
 * pgbench exec, and the machine's busy time from /proc/stat. Prints tps, ratios and PASS/MISS
 * (informational); exit 0, 1 if something failed, 130 if interrupted.
 * Usage: node dist/bench/throughput.js [--runs N] [-T S] [--scale N] [--cluster NAME] [--pooler-direct]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { DEFAULT_DATABASE } from '../common/service-users';
import { IMAGES } from '../common/images';
import { HAPROXY_RW_PORT, PG_PORT } from '../common/service-ports';
import { HAPROXY_MEMBER, containerName, networkName } from '../common/resource-names';
import { PGBOUNCER_DIR, PGBOUNCER_PORT } from '../common/render/pgbouncer';
import { SOCKET_DIR } from '../common/render/patroni';
import { poolerMember } from '../activities/pgbouncer';
import { readFileIn, tarOf } from '../activities/docker';
import { resolveConnectionTarget, type ConnectionTarget } from '../client/connection-target';
import { exitWith, fmt, load1, median, secs } from './lib';
import {
  type LoadedSetup, abort, checkAbort, checkpointAndSize, createLoadedCluster, dbaas, docker, echo, exec, leftovers, must, run, runCli,
  startClusterBench,
} from './proc';

const TARGETS = { rw: 0.9, pooled: 0.8 } as const;
const CLIENTS = 8;
const THREADS = 2;
const WARMUP_S = 2;
/** Where the pgbench container keeps the cluster CA (not a secret) for sslmode=verify-full. */
const CA_IN_CLIENT = '/tmp/bench-ca.crt';
const BENCH_LABEL = 'dbaas-bench.throughput';

type Side = 'direct' | 'rw' | 'pooled' | 'pooled-direct';
type Mode = 'select-only' | 'tpcb-like';
const MODES: Mode[] = ['select-only', 'tpcb-like'];

interface Options { runs: number; seconds: number; scale: number; cluster?: string; poolerDirect: boolean }

const usage = 'usage: node dist/bench/throughput.js [--runs N] [-T SECONDS] [--scale N] [--cluster NAME] [--pooler-direct]';

function parseOptions(): Options | number {
  try {
    const v = parseArgs({
      options: {
        runs: { type: 'string', default: '3' },
        time: { type: 'string', short: 'T', default: '20' },
        scale: { type: 'string', default: '10' },
        cluster: { type: 'string' },
        'pooler-direct': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
    if (v.help) {
      console.log(usage);
      return 0;
    }
    const positive = (name: string, s: string): number => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
      return n;
    };
    if (v.cluster !== undefined && !/^[a-z][a-z0-9-]*$/.test(v.cluster)) throw new Error('--cluster must name a cluster (lower-case letters, digits, -)');
    return { runs: positive('--runs', v.runs), seconds: positive('-T', v.time), scale: positive('--scale', v.scale), cluster: v.cluster, poolerDirect: v['pooler-direct'] };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
}

// ---------------------------------------------------------------------------------------------
// CPU counters

const engine = new Docker();

/** Nanoseconds of CPU the container's cgroup has used (user + system, all threads). */
async function cpuNs(ctr: string): Promise<number> {
  const s = await engine.getContainer(ctr).stats({ stream: false, 'one-shot': true });
  return s.cpu_stats.cpu_usage.total_usage;
}

/** The whole machine's busy CPU seconds so far (every core), from /proc/stat's first line. */
function machineBusyS(): number {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal, in USER_HZ (100 on Linux): all but idle and iowait.
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / 100;
}

/** Component → its containers (replicas are summed). */
type Components = Record<string, string[]>;

async function sampleCpu(components: Components): Promise<{ ns: Record<string, number>; machineS: number }> {
  const names = Object.entries(components);
  const values = await Promise.all(names.map(async ([, ctrs]) => (await Promise.all(ctrs.map(cpuNs))).reduce((a, b) => a + b, 0)));
  return { ns: Object.fromEntries(names.map(([k], i) => [k, values[i]])), machineS: machineBusyS() };
}

// ---------------------------------------------------------------------------------------------
// Sides

interface Endpoint { side: Side; host: string; port: number; hostaddr?: string }

interface SideResult {
  tps?: number;
  latencyMs?: number;
  transactions?: number;
  failed?: number;
  wallS: number;
  /** CPU seconds per component during the pgbench exec. */
  cpuS: Record<string, number>;
  machineS: number;
  /** All components' CPU microseconds per transaction. */
  cpuUsPerTx?: number;
  error?: string;
}

function pgbenchEnv(t: ConnectionTarget): string[] {
  return ['-e', 'PGPASSWORD', '-e', `PGSSLMODE=${t.sslmode}`, ...(t.sslrootcert ? ['-e', `PGSSLROOTCERT=${CA_IN_CLIENT}`] : [])];
}

/** pgbench in the client container against one endpoint; the password only in the docker CLI's environment. */
async function pgbench(client: string, t: ConnectionTarget, e: Endpoint, args: string[]): Promise<{ code: number | string; out: string; ms: number }> {
  const r = await exec('docker', [
    'exec', ...pgbenchEnv(t), ...(e.hostaddr ? ['-e', `PGHOSTADDR=${e.hostaddr}`] : []), client,
    'pgbench', '-n', '-c', String(CLIENTS), '-j', String(THREADS), ...args, '-h', e.host, '-p', String(e.port), '-U', t.user, t.database,
  ], { env: { ...process.env, PGPASSWORD: t.password } });
  return { code: r.code, out: r.out, ms: r.ms };
}

const num = (re: RegExp, s: string): number | undefined => {
  const m = re.exec(s);
  return m ? Number(m[1]) : undefined;
};

/** Untimed, in the leader: what pgbench's own pre-run vacuum does (tpcb-like), then a CHECKPOINT. */
async function prepare(leaderCtr: string, mode: Mode): Promise<void> {
  const sql = mode === 'tpcb-like' ? ['vacuum pgbench_branches', 'vacuum pgbench_tellers', 'truncate pgbench_history'] : [];
  await must('docker', ['exec', '-u', 'postgres', leaderCtr, 'psql', '-h', SOCKET_DIR, '-d', DEFAULT_DATABASE, '-XAtq',
    ...[...sql, 'checkpoint'].flatMap((q) => ['-c', q])], 'prepare (vacuum, checkpoint)');
}

async function measure(client: string, t: ConnectionTarget, e: Endpoint, mode: Mode, seconds: number, components: Components): Promise<SideResult> {
  const before = await sampleCpu(components);
  const r = await pgbench(client, t, e, [...(mode === 'select-only' ? ['-S'] : []), '-T', String(seconds)]);
  const after = await sampleCpu(components);
  const cpuS = Object.fromEntries(Object.keys(components).map((k) => [k, Math.round((after.ns[k] - before.ns[k]) / 1e6) / 1000]));
  const res: SideResult = { wallS: secs(r.ms), cpuS, machineS: Math.round((after.machineS - before.machineS) * 100) / 100 };
  if (r.code !== 0) {
    res.error = `pgbench exited with ${r.code}: ${r.out.trim().split('\n').slice(-3).join(' / ')}`;
    return res;
  }
  res.tps = num(/^tps = ([\d.]+) \(without initial connection time\)/m, r.out) ?? num(/^tps = ([\d.]+)/m, r.out);
  res.latencyMs = num(/^latency average = ([\d.]+) ms/m, r.out);
  res.transactions = num(/^number of transactions actually processed: (\d+)/m, r.out);
  res.failed = num(/^number of failed transactions: (\d+)/m, r.out);
  const total = Object.values(cpuS).reduce((a, b) => a + b, 0);
  if (res.transactions) res.cpuUsPerTx = Math.round((total * 1e6) / res.transactions);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Set-up of the bench's own containers

/** A sleeping dbaas/postgres container on the cluster's network; pgbench runs in it by `docker exec`. */
async function startClient(name: string, ctr: string, t: ConnectionTarget): Promise<void> {
  leftovers.add(`container ${ctr}`);
  await docker(['run', '-d', '--name', ctr, '--label', BENCH_LABEL, '--network', networkName(name), '--entrypoint', 'sleep', IMAGES.postgres, 'infinity']);
  if (t.sslrootcert) {
    const put = await run('docker', ['exec', '-i', ctr, 'sh', '-c', `cat > ${CA_IN_CLIENT}`], fs.readFileSync(t.sslrootcert));
    if (put.code !== 0) throw new Error(`copying the cluster CA into ${ctr} failed: ${put.stderr.trim()}`);
  }
}

/**
 * The pooled-direct side's PgBouncer: the product pooler's /etc/pgbouncer copied as it is (through
 * this process's memory: the auth file and the key are never printed), with its [databases] line
 * dialing the leader's container instead of HAProxy rw. It serves the product pooler's certificate,
 * so pgbench dials it by that name with PGHOSTADDR set to this container's address.
 */
async function startDirectPooler(name: string, ctr: string, leaderCtr: string): Promise<string> {
  const product = containerName(name, poolerMember('rw'));
  const ini = await readFileIn(engine, product, `${PGBOUNCER_DIR}/pgbouncer.ini`);
  const line = `* = host=${containerName(name, HAPROXY_MEMBER)} port=${HAPROXY_RW_PORT}`;
  if (!ini?.includes(line)) throw new Error(`${product}'s pgbouncer.ini has no line "${line}"`);
  leftovers.add(`container ${ctr}`);
  await docker(['create', '--name', ctr, '--label', BENCH_LABEL, '--network', networkName(name), IMAGES.pgbouncer]);
  const dir = await engine.getContainer(product).getArchive({ path: PGBOUNCER_DIR });
  await engine.getContainer(ctr).putArchive(dir, { path: '/etc' });
  const direct = ini.replace(line, `* = host=${leaderCtr} port=${PG_PORT}`);
  await engine.getContainer(ctr).putArchive(await tarOf({ dir: PGBOUNCER_DIR, name: 'pgbouncer.ini', content: direct, mode: 0o600, uid: 999, gid: 999 }), { path: PGBOUNCER_DIR });
  await docker(['start', ctr]);
  return docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${networkName(name)}").IPAddress}}`, ctr]);
}

/** pgbench -i in an existing cluster's leader (createLoadedCluster does it for a cluster it makes). */
async function initExisting(name: string, scale: number, setup: LoadedSetup): Promise<string> {
  const st = JSON.parse((await dbaas(['cluster', 'status', name, '--json'], 'cluster status')).stdout) as StatusWithPorts;
  if (!st.leader) throw new Error(`${name} has no leader`);
  setup.leader = st.leader;
  const leaderCtr = containerName(name, st.leader);
  console.log(`set-up: pgbench -i -s ${scale} in ${leaderCtr} (existing cluster: its pgbench_* tables are made anew)`);
  setup.pgbenchS = secs((await must('docker', ['exec', '-u', 'postgres', leaderCtr, 'pgbench', '-i', '-s', String(scale), '-q',
    '-h', SOCKET_DIR, DEFAULT_DATABASE], 'pgbench -i')).ms);
  return leaderCtr;
}

interface StatusWithPorts {
  leader?: string;
  members: { name: string; role: string; port: number | null }[];
  endpoints: { rw: { port: number }; pooledRw: { port: number } } | null;
}

// ---------------------------------------------------------------------------------------------
// Main

interface Iteration {
  run: number;
  order: Side[];
  load1Before: number;
  load1After?: number;
  results: Partial<Record<Mode, Partial<Record<Side, SideResult>>>>;
  error?: string;
}

const ratio = (a?: number, b?: number): number | undefined => (a === undefined || !b ? undefined : Math.round((a / b) * 1000) / 1000);

async function main(): Promise<number> {
  const opts = parseOptions();
  if (typeof opts === 'number') return opts;
  const { runs, seconds, scale, poolerDirect } = opts;
  const started = await startClusterBench('bench-tp');
  const own = opts.cluster === undefined;
  const name = opts.cluster ?? started.name;
  const prefix = `bench-tp-${started.id}`;
  const clientCtr = `${prefix}-pgbench`;
  const directPoolerCtr = `${prefix}-pgbouncer-direct`;
  const sides: Side[] = ['direct', 'rw', 'pooled', ...(poolerDirect ? ['pooled-direct' as const] : [])];
  const hostPgbench = await run('sh', ['-c', 'command -v pgbench >/dev/null && pgbench --version']).catch(() => ({ stdout: '' }));
  console.log(`bench throughput: ${runs} run(s), -T ${seconds}, scale ${scale}, cluster ${name}${own ? '' : ' (existing)'}, ` +
    `${os.cpus().length} cpus, load ${started.loadStart}, pgbench on the host: ${hostPgbench.stdout.trim() || 'none'} (not used)`);

  const iterations: Iteration[] = [];
  const setup: LoadedSetup & { leaderPort?: number | null; rwPort?: number; pooledRwPort?: number; sslmode?: string; pgbenchVersion?: string; leaderAfter?: string } = {};
  let failed = false;
  let components: Components = {};
  try {
    const leaderCtr = own ? await createLoadedCluster(name, scale, setup) : await initExisting(name, scale, setup);
    checkAbort();
    const [size] = await checkpointAndSize(leaderCtr, setup);
    const st = JSON.parse((await dbaas(['cluster', 'status', name, '--json'], 'cluster status')).stdout) as StatusWithPorts;
    setup.leaderPort = st.members.find((m) => m.name === setup.leader)?.port ?? null;
    setup.rwPort = st.endpoints?.rw.port;
    setup.pooledRwPort = st.endpoints?.pooledRw.port;
    // The credentials and TLS mode `dbaas connect --superuser` prints, read the way it reads them.
    const target = await resolveConnectionTarget(name, { ro: false, pooled: false, superuser: true });
    setup.sslmode = target.sslmode;
    await startClient(name, clientCtr, target);
    setup.pgbenchVersion = await docker(['exec', clientCtr, 'pgbench', '--version']);
    const endpoints: Endpoint[] = [
      { side: 'direct', host: leaderCtr, port: PG_PORT },
      { side: 'rw', host: containerName(name, HAPROXY_MEMBER), port: HAPROXY_RW_PORT },
      { side: 'pooled', host: containerName(name, poolerMember('rw')), port: PGBOUNCER_PORT },
    ];
    if (poolerDirect) {
      const ip = await startDirectPooler(name, directPoolerCtr, leaderCtr);
      endpoints.push({ side: 'pooled-direct', host: containerName(name, poolerMember('rw')), port: PGBOUNCER_PORT, hostaddr: ip });
    }
    const endpointOf = (s: Side): Endpoint => endpoints.find((e) => e.side === s) as Endpoint;
    components = {
      haproxy: [containerName(name, HAPROXY_MEMBER)],
      'pgbouncer-rw': [containerName(name, poolerMember('rw'))],
      ...(poolerDirect ? { 'pgbouncer-direct': [directPoolerCtr] } : {}),
      leader: [leaderCtr],
      replicas: st.members.filter((m) => m.name !== setup.leader).map((m) => containerName(name, m.name)),
      pgbench: [clientCtr],
    };
    console.log(`set-up: database ${DEFAULT_DATABASE} is ${size}, leader ${setup.leader} (published port ${setup.leaderPort ?? '-'}; ` +
      `rw ${setup.rwPort ?? '-'}, pooled rw ${setup.pooledRwPort ?? '-'}), sslmode ${target.sslmode}, client ${clientCtr} (${setup.pgbenchVersion})`);

    // Warm-up (untimed): the table in the cache, each front door's connections made once.
    for (const s of sides) {
      checkAbort();
      const w = await pgbench(clientCtr, target, endpointOf(s), ['-S', '-T', String(WARMUP_S)]);
      if (w.code !== 0) throw new Error(`warm-up through ${s} failed (exit ${w.code}): ${w.out.trim().split('\n').slice(-3).join(' / ')}`);
    }

    for (let i = 1; i <= runs && !abort.signal.aborted; i++) {
      const k = (i - 1) % sides.length;
      const order = [...sides.slice(k), ...sides.slice(0, k)];
      const it: Iteration = { run: i, order, load1Before: load1(), results: {} };
      iterations.push(it);
      console.log(`\nrun ${i}/${runs} (${order.join(', ')}), load ${it.load1Before}`);
      try {
        for (const mode of MODES) {
          const byMode: Partial<Record<Side, SideResult>> = {};
          it.results[mode] = byMode;
          for (const s of order) {
            checkAbort();
            await prepare(leaderCtr, mode);
            const r = await measure(clientCtr, target, endpointOf(s), mode, seconds, components);
            byMode[s] = r;
            if (r.error) {
              failed = true;
              console.error(`  ${mode} ${s}: ${r.error}`);
              continue;
            }
            console.log(`  ${mode.padEnd(11)} ${s.padEnd(13)} ${fmt(r.tps, 0).padStart(7)} tps  latency ${fmt(r.latencyMs, 3)} ms  ` +
              `cpu s ${Object.entries(r.cpuS).map(([c, v]) => `${c} ${fmt(v, 2)}`).join(', ')}; machine ${fmt(r.machineS, 2)}  (${fmt(r.cpuUsPerTx, 0)} µs/tx)`);
          }
        }
      } catch (err) {
        // An interruption too: the summary then shows the runs done so far.
        it.error = (err as Error).message;
        console.error(`  run ${i} stopped: ${it.error}`);
      }
      it.load1After = load1();
      failed ||= it.error !== undefined;
    }
    const after = JSON.parse((await dbaas(['cluster', 'status', name, '--json'], 'cluster status')).stdout) as StatusWithPorts;
    setup.leaderAfter = after.leader;
    if (after.leader !== setup.leader) console.error(`warning: the leader changed during the bench (${setup.leader} → ${after.leader ?? 'none'}): figures mix members`);
  } catch (err) {
    failed = true;
    console.error(`bench throughput: ${(err as Error).message}`);
  } finally {
    for (const l of [...leftovers]) {
      if (!l.startsWith('container ')) continue;
      await exec('docker', ['rm', '-f', l.slice('container '.length)]);
      leftovers.delete(l);
    }
    if (own) {
      console.log(`\ncleanup: cluster delete ${name}`);
      const del = await runCli(['cluster', 'delete', name, '--purge-backups', '--yes'], echo('delete'));
      // Exit 2 "no cluster named": a failed create already compensated.
      if (del.code === 0 || del.code === 2) leftovers.delete(`cluster ${name}`);
      else process.stderr.write(`warning: cluster delete ${name} exited with ${del.code}; left: ${[...leftovers].join(', ')}\n`);
    }
  }

  // Summary
  const medians: Record<string, Record<string, unknown>> = {};
  const targets: { mode: Mode; side: 'rw' | 'pooled'; target: number; value?: number; result: string }[] = [];
  for (const mode of MODES) {
    const of = (s: Side): SideResult[] => iterations.map((x) => x.results[mode]?.[s]).filter((r): r is SideResult => r !== undefined && !r.error);
    const ratioOf = (s: Side): number | undefined =>
      median(iterations.map((x) => ratio(x.results[mode]?.[s]?.tps, x.results[mode]?.direct?.tps)));
    console.log(`\n${mode}${mode === 'select-only' ? ' (-S)' : ''}, ${CLIENTS} clients, ${THREADS} threads, -T ${seconds} s: tps (ratio to direct in the same run)`);
    console.log(`run  ${sides.map((s) => s.padStart(20)).join('')}  load1 before/after`);
    for (const x of iterations) {
      const cells = sides.map((s) => {
        const r = x.results[mode]?.[s];
        if (!r) return '-'.padStart(20);
        if (r.error) return 'error'.padStart(20);
        return `${fmt(r.tps, 0)}${s === 'direct' ? '' : ` (${fmt(ratio(r.tps, x.results[mode]?.direct?.tps), 2)})`}`.padStart(20);
      });
      console.log(`${String(x.run).padEnd(4)} ${cells.join('')}  ${x.load1Before}/${x.load1After ?? '-'}`);
    }
    console.log(`${'med'.padEnd(4)} ${sides.map((s) => `${fmt(median(of(s).map((r) => r.tps)), 0)}${s === 'direct' ? '' : ` (${fmt(ratioOf(s), 2)})`}`.padStart(20)).join('')}`);
    const comps = Object.keys(components);
    console.log(`CPU seconds during the ${seconds} s run, median: side | ${comps.join(' ')} | all containers | machine | µs CPU per transaction`);
    medians[mode] = {};
    for (const s of sides) {
      const rs = of(s);
      const cpu = Object.fromEntries(comps.map((c) => [c, median(rs.map((r) => r.cpuS[c]))]));
      const all = median(rs.map((r) => Object.values(r.cpuS).reduce((a, b) => a + b, 0)));
      const m = { tps: median(rs.map((r) => r.tps)), ratio: s === 'direct' ? 1 : ratioOf(s), latencyMs: median(rs.map((r) => r.latencyMs)), cpuS: cpu, allContainersS: all,
        machineS: median(rs.map((r) => r.machineS)), cpuUsPerTx: median(rs.map((r) => r.cpuUsPerTx)) };
      medians[mode][s] = m;
      console.log(`  ${s.padEnd(13)} | ${comps.map((c) => fmt(cpu[c], 2).padStart(Math.max(4, c.length))).join(' ')} | ${fmt(all, 2).padStart(5)} | ${fmt(m.machineS, 2).padStart(5)} | ${fmt(m.cpuUsPerTx, 0)}`);
    }
    for (const side of ['rw', 'pooled'] as const) {
      const value = ratioOf(side);
      targets.push({ mode, side, target: TARGETS[side], value, result: value === undefined ? 'n/a' : value >= TARGETS[side] ? 'PASS' : 'MISS' });
    }
  }
  console.log(`\nload at start ${started.loadStart}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const t of targets) console.log(`target ${t.mode} ${t.side} / direct ≥ ${t.target}: ${t.result} (median ${fmt(t.value, 2)})`);
  console.log(`BENCH_JSON ${JSON.stringify({
    bench: 'throughput', runs, seconds, scale, clients: CLIENTS, threads: THREADS, cpus: os.cpus().length, cluster: name, ownCluster: own, poolerDirect,
    startedAt: started.startedAt, loadStart: started.loadStart, loadEnd: os.loadavg(), setup, components, iterations, median: medians, targets,
    interrupted: abort.signal.aborted,
  })}`);
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

exitWith('throughput', main());
