/**
 * bench/upgrade: the write downtime of a major upgrade (15 → 17) of a loaded cluster, by
 * blue-green (target ≤ 5 s) and in place, against a hand-run `pg_upgrade --link` of the same
 * data in the same run. Each iteration runs three sides, in an order that rotates:
 *   blue-green: `cluster create bench-up-<id>-bg<i> --version 15 --replicas 1`, pgbench -i
 *     (`--size-mb`), then `dbaas upgrade NAME --to 17` while two writers insert, one through
 *     pooled rw and one through rw; then `upgrade status --json` (the workflow's writePauseMs),
 *     `upgrade finish` and the delete.
 *   in-place: the same on `bench-up-<id>-ip<i>` with `--method in-place`, and the whole run's
 *     wall time.
 *   hand: bench/upgrade-hand.ts: stop 15, initdb 17, `pg_upgrade --link`, start 17, a write, in
 *     one container, with the same writer on its published port.
 * The downtime is client-side: a writer's longest time between two consecutive acknowledged
 * writes (bench/upgrade-writer.ts). Headlines: blue-green's pooled writer (the path the cutover
 * holds queries on) against 5 s and against hand; in place's rw writer (a direct connection, as
 * hand's) against hand. Prints figures, medians and PASS/MISS (informational); exit 0, 1 if
 * something failed, 130 if interrupted. Everything created is removed.
 * Usage: node dist/bench/upgrade.js [--runs N] [--size-mb MB] [--only blue-green|in-place|hand].
 * The environment passes through to the CLI and docker.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { IMAGES } from '../common/images';
import { exitWith, fmt, load1, median } from './lib';
import { abort, checkAbort, exec, leftovers, now, pause, startClusterBench } from './proc';
import { type Method, type UpgradeRun, blueGreen, createUpgradeCluster, deleteUpgradeCluster, inPlace } from './upgrade-dbaas';
import { type HandDowntime, loadHand, removeHand, startHand, upgradeByHand } from './upgrade-hand';
import { TickWriter, createTicksTable, type WriterFigures } from './upgrade-writer';

const TARGET_BLUE_GREEN_S = 5;
/** pgbench -s 70 is 1054 MB (bench/backup-restore): about 15 MB per scale unit. */
const MB_PER_PGBENCH_SCALE = 15;
const SETTLE_MS = 2000;

type SideName = Method | 'hand';
const SIDES: SideName[] = ['blue-green', 'in-place', 'hand'];

/** The sides of run `i`: the order rotates, so no side always runs first (on the quietest machine). */
const sidesOf = (i: number, only?: SideName): SideName[] =>
  SIDES.map((_, k) => SIDES[(k + i - 1) % SIDES.length]!).filter((s) => !only || s === only);

const USAGE = 'usage: node dist/bench/upgrade.js [--runs N] [--size-mb MB] [--only blue-green|in-place|hand]';

function parseOptions(): { runs: number; sizeMb: number; only?: SideName } | number {
  try {
    const v = parseArgs({
      options: { runs: { type: 'string', default: '1' }, 'size-mb': { type: 'string', default: '1024' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    const runs = Number(v.runs);
    const sizeMb = Number(v['size-mb']);
    if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
    if (!Number.isInteger(sizeMb) || sizeMb < 1) throw new Error('--size-mb must be a positive integer');
    if (v.only !== undefined && !(SIDES as string[]).includes(v.only)) throw new Error(`--only must be one of ${SIDES.join(', ')}`);
    return { runs, sizeMb, only: v.only as SideName | undefined };
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
}

interface HandRun {
  downtime: HandDowntime;
  /** Spawn to exit of the timed `docker exec`. */
  wallS: number;
  writer: WriterFigures;
  bytes: number;
}

interface Iteration {
  run: number;
  order: string;
  load1Before: number;
  load1After?: number;
  /** load1 before and after each side. */
  sideLoad: Partial<Record<SideName, [number, number]>>;
  blueGreen?: UpgradeRun & { bytes?: number };
  inPlace?: UpgradeRun & { bytes?: number };
  hand?: HandRun;
  /** What failed, by side (the other sides still ran). */
  errors: Partial<Record<SideName, string>>;
}

async function byHand(name: string, scale: number): Promise<HandRun> {
  const h = await startHand(name);
  try {
    const { bytes } = await loadHand(h, scale);
    await createTicksTable(h.uri);
    console.log(`set-up: ${name}: database ${(bytes / 1024 / 1024).toFixed(0)} MB`);
    checkAbort();
    const writer = new TickWriter(h.uri);
    writer.start();
    let t0 = now();
    let u: Awaited<ReturnType<typeof upgradeByHand>>;
    try {
      await pause(SETTLE_MS);
      t0 = now();
      u = await upgradeByHand(h);
      await pause(SETTLE_MS);
    } finally {
      await writer.stop();
    }
    return { ...u, writer: writer.figures(t0), bytes };
  } finally {
    await removeHand(h);
  }
}

/** Names: bench-up-<id>-bg<i>, -ip<i>, -hand<i>. */
const SHORT: Record<SideName, string> = { 'blue-green': 'bg', 'in-place': 'ip', hand: 'hand' };

async function runSide(side: SideName, it: Iteration, name: string, scale: number): Promise<void> {
  if (side === 'hand') {
    it.hand = await byHand(name, scale);
    printHand(it.hand);
    return;
  }
  const r = await dbaasSide(side, name, scale);
  if (side === 'blue-green') it.blueGreen = r;
  else it.inPlace = r;
  printDbaas(r);
}

async function dbaasSide(method: Method, name: string, scale: number): Promise<UpgradeRun & { bytes?: number }> {
  try {
    const c = await createUpgradeCluster(name, scale);
    checkAbort();
    const r = await (method === 'blue-green' ? blueGreen(c) : inPlace(c));
    return { ...r, bytes: c.setup.dbBytes };
  } finally {
    await deleteUpgradeCluster(name);
  }
}

const gapLine = (w: WriterFigures): string =>
  `${fmt(w.longestGap?.s, 2)} s (+${fmt(w.longestGap?.fromS)} → +${fmt(w.longestGap?.toS)} s), ${w.acked} acked, ${w.failed} failed${w.errors.length ? `: ${w.errors.join('; ')}` : ''}`;

function printDbaas(r: UpgradeRun): void {
  console.log(`  ${r.method}: upgrade ${fmt(r.wallS)} s (spawn → exit${r.method === 'blue-green' ? ', up to the cutover\'s end' : ''}); lost writes ${r.lost ?? '-'}`);
  console.log(`    writer pooled rw: longest gap ${gapLine(r.pooled)}`);
  console.log(`    writer rw:        longest gap ${gapLine(r.rw)}`);
  if (r.method === 'blue-green') console.log(`    workflow's writePauseMs ${fmt(r.writePauseS, 2)} s; upgrade finish ${fmt(r.finishS)} s`);
  else console.log(`    steps from the leader's stop to it leading on 17 (the CLI's view): ${fmt(r.offlineStepsS)} s`);
}

function printHand(h: HandRun): void {
  const d = h.downtime;
  console.log(`  hand: writer longest gap ${gapLine(h.writer)}`);
  console.log(`    inside: stop ${fmt(d.stopS, 2)} + initdb 17 ${fmt(d.initdbS, 2)} + pg_upgrade --link ${fmt(d.pgUpgradeS, 2)} + start 17 ${fmt(d.startS, 2)} ` +
    `+ first write ${fmt(d.firstWriteS, 2)} = ${fmt(d.downtimeS, 2)} s (docker exec ${fmt(h.wallS)} s)`);
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b <= 0 ? undefined : Math.round((a / b) * 100) / 100;

async function main(): Promise<number> {
  const opts = parseOptions();
  if (typeof opts === 'number') return opts;
  const { runs, sizeMb, only } = opts;
  const { name: prefix, startedAt, loadStart } = await startClusterBench('bench-up');
  for (const image of [IMAGES.postgres17, IMAGES.postgresUpgrade]) {
    if ((await exec('docker', ['image', 'inspect', image])).code !== 0) throw new Error(`image ${image} missing: run \`npx dbaas dev up\``);
  }
  const scale = Math.max(1, Math.round(sizeMb / MB_PER_PGBENCH_SCALE));
  console.log(`bench upgrade: ${runs} run(s)${only ? `, ${only} only` : ''}, ${sizeMb} MB (pgbench -s ${scale}), names ${prefix}-*, ${os.cpus().length} cpus, ` +
    `load ${loadStart}, TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS ?? '(default)'}`);

  const iterations: Iteration[] = [];
  let failed = false;
  for (let i = 1; i <= runs && !abort.signal.aborted; i++) {
    const it: Iteration = { run: i, order: sidesOf(i, only).join(','), load1Before: load1(), sideLoad: {}, errors: {} };
    iterations.push(it);
    console.log(`\nrun ${i}/${runs} (${it.order}), load1 ${it.load1Before}`);
    // A side that fails does not stop the others: each is slow to set up, and measures alone.
    for (const side of sidesOf(i, only)) {
      if (abort.signal.aborted) break;
      const before = load1();
      console.log(`\n ${side}, load1 ${before}`);
      try {
        await runSide(side, it, `${prefix}-${SHORT[side]}${i}`, scale);
      } catch (err) {
        failed = true;
        it.errors[side] = (err as Error).message;
        console.error(`  ${side} failed: ${it.errors[side]}`);
      } finally {
        await cleanup();
        it.sideLoad[side] = [before, load1()];
        console.log(`  load1 before/after ${side}: ${before} / ${it.sideLoad[side]![1]}`);
      }
    }
    it.load1After = load1();
    console.log(`  load1 after run ${i}: ${it.load1After}`);
  }
  summarize(iterations, { runs, sizeMb, scale, only, prefix, startedAt, loadStart });
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

function summarize(iterations: Iteration[], o: { runs: number; sizeMb: number; scale: number; only?: SideName; prefix: string; startedAt: string; loadStart: string }): void {
  const m = (f: (x: Iteration) => number | undefined): number | undefined => median(iterations.map(f));
  const gap = (w: WriterFigures | undefined): number | undefined => w?.longestGap?.s;
  const med = {
    blueGreenPooledGapS: m((x) => gap(x.blueGreen?.pooled)),
    blueGreenRwGapS: m((x) => gap(x.blueGreen?.rw)),
    blueGreenWritePauseS: m((x) => x.blueGreen?.writePauseS),
    blueGreenUpgradeS: m((x) => x.blueGreen?.wallS),
    blueGreenFinishS: m((x) => x.blueGreen?.finishS),
    inPlaceRwGapS: m((x) => gap(x.inPlace?.rw)),
    inPlacePooledGapS: m((x) => gap(x.inPlace?.pooled)),
    inPlaceOfflineStepsS: m((x) => x.inPlace?.offlineStepsS),
    inPlaceWallS: m((x) => x.inPlace?.wallS),
    handGapS: m((x) => gap(x.hand?.writer)),
    handDowntimeS: m((x) => x.hand?.downtime.downtimeS),
    handPgUpgradeS: m((x) => x.hand?.downtime.pgUpgradeS),
    ratioInPlaceHand: m((x) => ratio(gap(x.inPlace?.rw), gap(x.hand?.writer))),
    ratioInPlacePooledHand: m((x) => ratio(gap(x.inPlace?.pooled), gap(x.hand?.writer))),
    ratioBlueGreenHand: m((x) => ratio(gap(x.blueGreen?.pooled), gap(x.hand?.writer))),
  };
  const mb = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1024 / 1024).toFixed(0)} MB`);
  console.log(`\n${o.sizeMb} MB asked (pgbench -s ${o.scale}); load at start ${o.loadStart}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('longest gap between acknowledged writes, s (client-side) | blue-green: pooled, rw, writePauseMs, upgrade s, finish s | ' +
    'in-place: rw, pooled, offline steps, whole run s | hand: writer, inside (stop → a write on 17), pg_upgrade | load1 before/after');
  for (const x of iterations) {
    const b = x.blueGreen;
    const p = x.inPlace;
    const h = x.hand;
    const row =
      `bg ${fmt(gap(b?.pooled), 2)} / ${fmt(gap(b?.rw), 2)} / ${fmt(b?.writePauseS, 2)} / ${fmt(b?.wallS)} / ${fmt(b?.finishS)} | ` +
      `ip ${fmt(gap(p?.rw), 2)} / ${fmt(gap(p?.pooled), 2)} / ${fmt(p?.offlineStepsS)} / ${fmt(p?.wallS)} | ` +
      `hand ${fmt(gap(h?.writer), 2)} / ${fmt(h?.downtime.downtimeS, 2)} / ${fmt(h?.downtime.pgUpgradeS, 2)} | ${x.load1Before}/${x.load1After ?? '-'}`;
    console.log(`${String(x.run).padEnd(4)} ${row}`);
    console.log(`     sizes: bg ${mb(b?.bytes)}, ip ${mb(p?.bytes)}, hand ${mb(h?.bytes)}; order ${x.order}`);
    for (const [side, e] of Object.entries(x.errors)) console.log(`     ${side} FAILED: ${e}`);
  }
  console.log(`median bg ${fmt(med.blueGreenPooledGapS, 2)} / ${fmt(med.blueGreenRwGapS, 2)} / ${fmt(med.blueGreenWritePauseS, 2)} / ${fmt(med.blueGreenUpgradeS)} / ${fmt(med.blueGreenFinishS)} | ` +
    `ip ${fmt(med.inPlaceRwGapS, 2)} / ${fmt(med.inPlacePooledGapS, 2)} / ${fmt(med.inPlaceOfflineStepsS)} / ${fmt(med.inPlaceWallS)} | ` +
    `hand ${fmt(med.handGapS, 2)} / ${fmt(med.handDowntimeS, 2)} / ${fmt(med.handPgUpgradeS, 2)}`);

  for (const method of ['blue-green', 'in-place'] as const) {
    const all = iterations.map((x) => (method === 'blue-green' ? x.blueGreen : x.inPlace)?.steps).filter((s): s is Record<string, number> => !!s);
    const names = [...new Set(all.flatMap((s) => Object.keys(s)))];
    if (names.length === 0) continue;
    console.log(`\ndbaas upgrade ${method} steps, median s (as the CLI prints them):`);
    for (const s of names) console.log(`  ${fmt(median(all.map((x) => x[s]))).padStart(6)}  ${s}`);
  }

  const verdict = med.blueGreenPooledGapS === undefined ? 'n/a' : med.blueGreenPooledGapS <= TARGET_BLUE_GREEN_S ? 'PASS' : 'MISS';
  console.log(`\nratios (median of per-run ratios): in-place rw / hand ${fmt(med.ratioInPlaceHand, 2)}, in-place pooled / hand ${fmt(med.ratioInPlacePooledHand, 2)}, ` +
    `blue-green pooled / hand ${fmt(med.ratioBlueGreenHand, 2)}`);
  console.log(`target blue-green write downtime ≤ ${TARGET_BLUE_GREEN_S} s (informational, pooled writer): ${verdict} (median ${fmt(med.blueGreenPooledGapS, 2)} s); ` +
    `in-place (reported): ${fmt(med.inPlaceRwGapS, 2)} s through rw, whole run ${fmt(med.inPlaceWallS)} s`);
  console.log(`BENCH_JSON ${JSON.stringify({
    bench: 'upgrade', runs: o.runs, sizeMb: o.sizeMb, pgbenchScale: o.scale, only: o.only ?? null, cpus: os.cpus().length, names: `${o.prefix}-*`,
    startedAt: o.startedAt, loadStart: o.loadStart, loadEnd: os.loadavg(), iterations, median: med,
    target: { blueGreenS: TARGET_BLUE_GREEN_S, value: med.blueGreenPooledGapS, result: verdict }, interrupted: abort.signal.aborted,
  })}`);
}

/** Remove what is left: the hand containers and volumes, then the clusters (a blue-green run ended first). */
async function cleanup(): Promise<void> {
  for (const l of [...leftovers]) {
    const [kind, what] = l.split(' ');
    if (kind === 'container') await removeHand({ container: what!, volume: what! });
  }
  for (const l of [...leftovers]) {
    const [kind, what] = l.split(' ');
    if (kind === 'cluster') await deleteUpgradeCluster(what!);
  }
  if (leftovers.size > 0) process.stderr.write(`warning: possibly left: ${[...leftovers].join(', ')}\n`);
}

exitWith('upgrade', main());
