/**
 * bench/add-replica: `dbaas replica add <name>` on a cluster holding ~100 MB (pgbench -s 7),
 * against the same done by hand, in the same run. Set-up (not timed):
 * `cluster create bench-ar-<id> --replicas 1`, pgbench -i, CHECKPOINT, replica at lag 0.
 *   A. dbaas: spawn of `node bin/dbaas.js replica add <name>` to its exit 0 (the member streams
 *      with lag < 1 MiB, is UP in HAProxy ro, a read through ro lands on it); then
 *      `replica remove <name> pg-N` (not timed), so every iteration starts from the same point.
 *   B. plain Patroni replica (the like-for-like side): `docker volume create`, `docker create`
 *      + `docker cp` of the same rendered patroni.yml, `docker start` of a Patroni node that joins
 *      the same cluster (its etcd, network and passwords), until the leader's GET /patroni shows
 *      it streaming and GET /cluster shows it running with lag < 1 MiB, the bar of dbaas's own
 *      "wait for streaming" step. dbaas does more after that (HAProxy, the read through ro): the
 *      "to streaming" figures compare the same point on both sides, from the new member's log.
 *      Then removed (not timed): container, volume, its member key in etcd.
 *   C. raw pg_basebackup (the clone alone, not a replica): spawn to exit of `docker run --rm
 *      --network dbaas-<name> dbaas/postgres:local` running `pg_basebackup -h <leader> -U
 *      replicator -D /tmp/bb -X stream -c fast` (PGPASSWORD through the environment, never on
 *      the command line). No Patroni, no PostgreSQL start, no streaming: printed for scale only.
 * Prints figures and PASS/MISS (informational, dbaas against B); exit 0, 1 if something failed,
 * 130 if interrupted. The cluster is always deleted. Usage: node dist/bench/add-replica.js [--runs N]
 * Expects `npx dbaas dev up`; the environment passes through to the CLI and docker unchanged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths } from '../common/paths';
import { DEFAULT_DATABASE, REPLICATION_USER } from '../common/service-users';
import { IMAGES } from '../common/images';
import { PATRONI_API_PORT } from '../common/service-ports';
import { containerName, networkName } from '../common/resource-names';
import type { ClusterPasswords } from '../common/render/patroni';
import { exitWith, fmt, load1, median, parseRunsOptions, secs, sidesOf } from './lib';
import {
  type LoadedSetup, abort, checkAbort, checkpointAndSize, createLoadedCluster, dbaas, docker, echo, exec, getJson, leftovers, now, pause, runCli,
  startClusterBench, status, stepCollector, timeline,
} from './proc';
import { createPlainPostgres, createPlainVolume, planJoining, removeJoined } from './plain-cluster';

const TARGET_RATIO = 1.3;
const PGBENCH_SCALE = 7;
/** The hand-started member's Patroni name: one dbaas never gives in this bench (it adds pg-2). */
const HAND_MEMBER = 'pg-10';
/** dbaas's "caught up" bar for a new member (workflows/addReplica.ts CAUGHT_UP_BYTES). */
const CAUGHT_UP_BYTES = 1024 * 1024;
const HAND_TIMEOUT_MS = 180_000;

const MEMBER_EVENTS: Record<string, RegExp> = {
  patroniUp: /INFO: /,
  cloneStart: /trying to bootstrap from leader/,
  cloneDone: /replica has been created using basebackup/,
  pgReady: /ready to accept read-only connections/,
  streaming: /started streaming WAL from primary/,
  firstHaCycle: /no action\. I am \(.*\), a secondary/,
};

// ---------------------------------------------------------------------------------------------
// A. dbaas and B. plain

interface DbaasResult {
  seconds: number;
  member: string;
  followS?: number; // "done in" as printed by the CLI (time following the workflow)
  steps: Record<string, number>; // the CLI's ✓ lines, the new member shown as pg-N
  timeline: Record<string, number>; // s from spawning the CLI to events in the new member's log
  removeS?: number;
}

async function runDbaas(name: string): Promise<DbaasResult> {
  const sc = stepCollector({});
  let member: string | undefined;
  const t0Wall = Date.now();
  const r = await runCli(['replica', 'add', name], (l) => {
    echo('dbaas')(l);
    sc.onLine(l);
    const a = /^(pg-\d+) added to /.exec(l);
    if (a) member = a[1];
  });
  const followS = sc.done.s;
  if (r.code !== 0 || !member) throw new Error(`dbaas replica add ${name} exited with ${r.code}${member ? '' : ' (no "pg-N added" line)'}`);
  const added = member;
  leftovers.add(`member ${added} of ${name}`);
  const steps: Record<string, number> = {};
  for (const [k, v] of Object.entries(sc.steps)) steps[k.split(added).join('pg-N')] = v;
  const res: DbaasResult = { seconds: secs(r.ms), member: added, followS, steps, timeline: {} };
  res.timeline = await timeline(containerName(name, added), t0Wall, MEMBER_EVENTS).catch(() => ({}));
  const rm = await dbaas(['replica', 'remove', name, added], `dbaas replica remove ${name} ${added}`, echo('dbaas remove'));
  res.removeS = secs(rm.ms);
  leftovers.delete(`member ${added} of ${name}`);
  return res;
}

interface PlainPatroniResult {
  seconds: number; // spawn of the first docker command → streaming (leader's view) with lag < 1 MiB in /cluster
  timeline: Record<string, number>; // s from the first docker command to events in the member's log
  removeS?: number;
}

interface PatroniJson { replication?: { application_name: string; state: string }[] }
interface ClusterJson { members?: { name: string; state: string; lag?: number | string }[] }

/** The leader's IP on the cluster network (the Patroni API is not published on the host). */
async function leaderApi(name: string, leaderCtr: string): Promise<string> {
  const ip = await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${networkName(name)}").IPAddress}}`, leaderCtr]);
  if (!ip) throw new Error(`${leaderCtr} has no address on ${networkName(name)}`);
  return `http://${ip}:${PATRONI_API_PORT}`;
}

/** Why `member` is not yet streaming and caught up, or undefined once it is. */
async function notStreaming(api: string, member: string): Promise<string | undefined> {
  const st = (await getJson(`${api}/patroni`)) as PatroniJson;
  const row = (st.replication ?? []).find((r) => r.application_name === member);
  if (row?.state !== 'streaming') return `replication ${row?.state ?? 'absent'}`;
  const m = ((await getJson(`${api}/cluster`)) as ClusterJson).members?.find((x) => x.name === member);
  if (m?.state !== 'running' || typeof m.lag !== 'number' || m.lag >= CAUGHT_UP_BYTES) return `/cluster ${m?.state ?? 'absent'}, lag ${String(m?.lag)}`;
  return undefined;
}

async function runPlainPatroni(name: string, api: string, passwords: ClusterPasswords, prefix: string): Promise<PlainPatroniResult> {
  const plan = planJoining(prefix, name, HAND_MEMBER, passwords, 'default');
  leftovers.add(`hand replica ${prefix}-${HAND_MEMBER} (and its etcd member key)`);
  const t0 = now();
  const t0Wall = Date.now();
  try {
    await createPlainVolume(plan, HAND_MEMBER);
    await createPlainPostgres(plan, HAND_MEMBER);
    await docker(['start', plan.ctr(HAND_MEMBER)]);
    let last = 'nothing yet';
    for (;;) {
      checkAbort();
      const why = await notStreaming(api, HAND_MEMBER).catch((err: unknown) => (err as Error).message);
      if (why === undefined) break;
      last = why;
      if (now() - t0 > HAND_TIMEOUT_MS) throw new Error(`hand replica: not streaming after ${HAND_TIMEOUT_MS / 1000} s (last: ${last})`);
      await pause(100);
    }
    const res: PlainPatroniResult = { seconds: secs(now() - t0), timeline: {} };
    res.timeline = await timeline(plan.ctr(HAND_MEMBER), t0Wall, MEMBER_EVENTS).catch(() => ({}));
    return res;
  } finally {
    const t1 = now();
    await removeJoined(plan);
    leftovers.delete(`hand replica ${prefix}-${HAND_MEMBER} (and its etcd member key)`);
    console.log(`    hand replica removed in ${fmt(secs(now() - t1))} s`);
  }
}

interface PlainResult {
  seconds: number;
  startS?: number; // spawn → pg_basebackup starts inside the container
  basebackupS?: number; // pg_basebackup itself, timed inside the container
  teardownS?: number; // pg_basebackup exit → docker run exit (container exit, --rm removal)
}

async function runPlain(name: string, leaderCtr: string, password: string, bbName: string): Promise<PlainResult> {
  const script = `s=$(date +%s.%N); pg_basebackup -h ${leaderCtr} -U ${REPLICATION_USER} -D /tmp/bb -X stream -c fast || exit $?; ` +
    'echo "BB $s $(date +%s.%N)"';
  leftovers.add(`container ${bbName}`);
  const t0Wall = Date.now();
  const r = await exec('docker', ['run', '--rm', '--name', bbName, '--network', networkName(name), '-e', 'PGPASSWORD',
    '--entrypoint', 'sh', IMAGES.postgres, '-c', script], { env: { ...process.env, PGPASSWORD: password } });
  const t1Wall = t0Wall + r.ms;
  if (r.code !== 0) throw new Error(`plain pg_basebackup exited with ${r.code}: ${r.out.trim()}`);
  leftovers.delete(`container ${bbName}`);
  const res: PlainResult = { seconds: secs(r.ms) };
  const m = /^BB (\d+\.\d+) (\d+\.\d+)$/m.exec(r.stdout);
  if (m) {
    const [s, e] = [Number(m[1]) * 1000, Number(m[2]) * 1000];
    Object.assign(res, { startS: secs(s - t0Wall), basebackupS: secs(e - s), teardownS: secs(t1Wall - e) });
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Main

interface Iteration {
  run: number; order: string; load1Before: number; load1After?: number;
  /** plainPatroni: B (a hand-started Patroni replica); plain: C (raw pg_basebackup). */
  dbaas?: DbaasResult; plainPatroni?: PlainPatroniResult; plain?: PlainResult;
  /** dbaas / B, whole commands (dbaas also does HAProxy and the read through ro). */
  ratio?: number;
  /** dbaas / B to "started streaming WAL" in the new member's log: the same point on both sides. */
  streamingRatio?: number;
  error?: string;
}

async function main(): Promise<number> {
  const usage = 'usage: node dist/bench/add-replica.js [--runs N]';
  const opts = parseRunsOptions(usage);
  if (typeof opts === 'number') return opts;
  const { runs } = opts;
  const { id, name, startedAt, loadStart } = await startClusterBench('bench-ar');
  console.log(`bench add-replica: ${runs} run(s), cluster ${name}, ${os.cpus().length} cpus, load ${loadStart}, ` +
    `TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS ?? '(default)'}`);

  const iterations: Iteration[] = [];
  const setup: LoadedSetup = {};
  let failed = false;
  try {
    // Set-up (not timed)
    const leaderCtr = await createLoadedCluster(name, PGBENCH_SCALE, setup);
    const [size, bytes] = await checkpointAndSize(leaderCtr, setup);
    for (let t = 0; ; t++) {
      checkAbort();
      const s = await status(name);
      if (s.members.every((m) => m.role === 'leader' || (m.state === 'running' && m.lag === 0))) break;
      if (t >= 60) throw new Error('the existing replica did not reach lag 0 after the load');
      await pause(2000);
    }
    const secretsFile = path.join(resolvePaths().secrets, `${name}.json`);
    const passwords = JSON.parse(fs.readFileSync(secretsFile, 'utf8')) as ClusterPasswords;
    const password = passwords.replication;
    if (!password) throw new Error(`no "replication" password in ${secretsFile}`);
    const api = await leaderApi(name, leaderCtr);
    console.log(`set-up: database ${DEFAULT_DATABASE} is ${size} (${bytes} bytes), pgbench -i ${fmt(setup.pgbenchS)} s, leader ${setup.leader}`);

    for (let i = 1; i <= runs && !abort.signal.aborted; i++) {
      const sides = sidesOf(i);
      const it: Iteration = { run: i, order: sides.join(','), load1Before: load1() };
      iterations.push(it);
      console.log(`\nrun ${i}/${runs} (${it.order}), load ${it.load1Before}`);
      try {
        for (const side of sides) {
          checkAbort();
          if (side === 'dbaas') {
            it.dbaas = await runDbaas(name);
            const tl = it.dbaas.timeline;
            console.log(`  dbaas: ${fmt(it.dbaas.seconds)} s (${it.dbaas.member}; following the workflow ${fmt(it.dbaas.followS)} s; ` +
              `container started ${fmt(tl.containerStarted)}, clone ${fmt(tl.cloneStart)}→${fmt(tl.cloneDone)}, ` +
              `streaming ${fmt(tl.streaming)}, first HA cycle ${fmt(tl.firstHaCycle)}; remove ${fmt(it.dbaas.removeS)} s)`);
          } else {
            it.plainPatroni = await runPlainPatroni(name, api, passwords, `bench-ar-${id}-hand-${i}`);
            const tl = it.plainPatroni.timeline;
            console.log(`  plain Patroni replica: ${fmt(it.plainPatroni.seconds)} s (container started ${fmt(tl.containerStarted)}, ` +
              `clone ${fmt(tl.cloneStart)}→${fmt(tl.cloneDone)}, streaming ${fmt(tl.streaming)})`);
            it.plain = await runPlain(name, leaderCtr, password, `bench-ar-${id}-bb-${i}`);
            console.log(`  raw pg_basebackup (clone only): ${fmt(it.plain.seconds)} s (start ${fmt(it.plain.startS)}, pg_basebackup ${fmt(it.plain.basebackupS)}, ` +
              `exit+rm ${fmt(it.plain.teardownS)})`);
          }
        }
        const ratio = (a?: number, b?: number): number | undefined => (a === undefined || !b ? undefined : Math.round((a / b) * 100) / 100);
        it.ratio = ratio(it.dbaas?.seconds, it.plainPatroni?.seconds);
        it.streamingRatio = ratio(it.dbaas?.timeline.streaming, it.plainPatroni?.timeline.streaming);
      } catch (err) {
        failed = true;
        it.error = (err as Error).message;
        console.error(`  run ${i} failed: ${it.error}`);
      } finally {
        it.load1After = load1();
      }
    }
  } catch (err) {
    failed = true;
    console.error(`bench add-replica: ${(err as Error).message}`);
  } finally {
    for (const l of leftovers) if (l.startsWith('container ')) await exec('docker', ['rm', '-f', l.slice('container '.length)]);
    // A hand replica left by an interrupted iteration goes with the cluster's network below; its
    // container first, or the network could not be removed.
    for (const l of leftovers) {
      const m = /^hand replica (\S+)/.exec(l);
      if (m) await exec('docker', ['rm', '-f', m[1]]);
    }
    console.log(`\ncleanup: cluster delete ${name}`);
    const del = await runCli(['cluster', 'delete', name, '--yes'], echo('delete'));
    // Exit 2 "no cluster named": a failed create already compensated.
    if (del.code === 0 || del.code === 2) leftovers.clear();
    else process.stderr.write(`warning: cluster delete ${name} exited with ${del.code}; left: ${[...leftovers].join(', ')}\n`);
  }

  // Summary
  const ok = iterations.filter((x) => !x.error && x.dbaas && x.plainPatroni && x.plain);
  const med = {
    dbaas: median(ok.map((x) => x.dbaas?.seconds)),
    plainPatroni: median(ok.map((x) => x.plainPatroni?.seconds)),
    ratio: median(ok.map((x) => x.ratio)),
    dbaasToStreaming: median(ok.map((x) => x.dbaas?.timeline.streaming)),
    plainPatroniToStreaming: median(ok.map((x) => x.plainPatroni?.timeline.streaming)),
    streamingRatio: median(ok.map((x) => x.streamingRatio)),
    plain: median(ok.map((x) => x.plain?.seconds)),
    plainBasebackup: median(ok.map((x) => x.plain?.basebackupS)),
  };
  console.log(`\ndatabase ${setup.dbSize ?? '-'}; load at start ${loadStart}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('dbaas: the whole command (streaming, HAProxy, read through ro). hand: a Patroni replica started by hand, to streaming.');
  console.log('to streaming: first command → "started streaming WAL" in the new member\'s log, both sides. raw bb: pg_basebackup alone (clone only).');
  console.log('run  order         dbaas s  hand s  ratio  | to streaming: dbaas  hand  ratio | raw bb s  inside s | load1 before/after');
  const row = (x: { dbaas?: number; hand?: number; ratio?: number; sd?: number; sh?: number; sr?: number; bb?: number; bbIn?: number }): string =>
    `${fmt(x.dbaas).padStart(7)}  ${fmt(x.hand).padStart(6)}  ${fmt(x.ratio, 2).padStart(5)}  | ${fmt(x.sd).padStart(19)}  ${fmt(x.sh).padStart(4)}  ${fmt(x.sr, 2).padStart(5)} | ` +
    `${fmt(x.bb).padStart(8)}  ${fmt(x.bbIn).padStart(8)}`;
  for (const x of iterations) {
    const line = x.error ? `ERROR: ${x.error}` : `${row({
      dbaas: x.dbaas?.seconds, hand: x.plainPatroni?.seconds, ratio: x.ratio, sd: x.dbaas?.timeline.streaming, sh: x.plainPatroni?.timeline.streaming,
      sr: x.streamingRatio, bb: x.plain?.seconds, bbIn: x.plain?.basebackupS,
    })} | ${x.load1Before}/${x.load1After ?? '-'}`;
    console.log(`${String(x.run).padEnd(4)} ${x.order.padEnd(12)} ${line}`);
  }
  console.log(`${'median'.padEnd(17)} ${row({
    dbaas: med.dbaas, hand: med.plainPatroni, ratio: med.ratio, sd: med.dbaasToStreaming, sh: med.plainPatroniToStreaming, sr: med.streamingRatio,
    bb: med.plain, bbIn: med.plainBasebackup,
  })} |`);

  const stepNames = [...new Set(ok.flatMap((x) => Object.keys(x.dbaas?.steps ?? {})))];
  if (stepNames.length > 0) {
    console.log('\ndbaas steps, median s (as the CLI prints them):');
    for (const s of stepNames) console.log(`  ${fmt(median(ok.map((x) => x.dbaas?.steps[s]))).padStart(5)}  ${s}`);
    console.log(`  ${fmt(median(ok.map((x) => (x.dbaas?.followS === undefined ? undefined : x.dbaas.seconds - x.dbaas.followS)))).padStart(5)}  ` +
      'CLI start, Docker/Temporal connect, workflow start (process time − "done in")');
    const events = ['containerStarted', ...Object.keys(MEMBER_EVENTS)];
    console.log(`new member, median s from the CLI start: ${events.map((e) => `${e} ${fmt(median(ok.map((x) => x.dbaas?.timeline[e])))}`).join(', ')}`);
    console.log(`hand replica, median s from its first docker command: ${events.map((e) => `${e} ${fmt(median(ok.map((x) => x.plainPatroni?.timeline[e])))}`).join(', ')}`);
    console.log(`raw pg_basebackup, median s: start ${fmt(median(ok.map((x) => x.plain?.startS)))}, pg_basebackup ${fmt(med.plainBasebackup)}, ` +
      `exit+rm ${fmt(median(ok.map((x) => x.plain?.teardownS)))}`);
  }

  const result = med.ratio === undefined ? 'n/a' : med.ratio <= TARGET_RATIO ? 'PASS' : 'MISS';
  console.log(`\ntarget ratio dbaas / hand-started Patroni replica ≤ ${TARGET_RATIO}: ${result} (median ${fmt(med.ratio, 2)}; ` +
    `to streaming ${fmt(med.streamingRatio, 2)})`);
  console.log(`BENCH_JSON ${JSON.stringify({
    bench: 'add-replica', runs, cpus: os.cpus().length, cluster: name, startedAt, loadStart, loadEnd: os.loadavg(),
    setup, iterations, median: med, target: { ratio: TARGET_RATIO, value: med.ratio, result }, interrupted: abort.signal.aborted,
  })}`);
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

exitWith('add-replica', main());
