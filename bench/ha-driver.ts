/**
 * The driver of bench/failover and bench/switchover: for each profile, a dbaas cluster and a
 * plain one (set-up, not timed), runs alternating the order of the sides, each from a healthy
 * cluster; per-run figures, medians, ratios dbaas/plain, targets, and a final BENCH_JSON line.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { fmt, load1, median, secs } from './lib';
import {
  REPLICAS, clusterView, createDbaasCluster, startPlainCluster, type ClusterView, type HaCluster, type Side,
} from './ha-lib';
import { writeOnce } from './ha-writer';
import { Interrupted, abort, checkAbort, now, sleep, startBench } from './proc';
import { PROFILES, isProfileName, type ProfileName } from '../common/spec';

/** Between iterations: old leader back as a streaming replica, HAProxy rw/ro UP. */
const HEALTHY_TIMEOUT_MS = 4 * 60_000;
const POLL_MS = 250;

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
  const { id, startedAt, otherContainers: others } = await startBench();
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
