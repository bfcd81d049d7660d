/**
 * bench/create-cluster: how long `dbaas cluster create <name> --replicas 2` takes, against the
 * same topology brought up by plain `docker` commands on the same machine, in the same run.
 *
 *   A. dbaas: wall seconds from spawning `node bin/dbaas.js cluster create <name> --replicas 2
 *      --profile P` to its exit 0. CreateCluster returns only after a write through HAProxy rw
 *      and a read through ro, with both replicas streaming at lag 0. The cluster is then
 *      deleted with `node bin/dbaas.js cluster delete <name>` (not timed).
 *   B. plain Docker, bare: the same images and renderers (common/render), etcd + 3 Patroni nodes
 *      started together + HAProxy, by `docker network create`, `docker run`, `docker create` +
 *      `docker cp` + `docker start`. Less than dbaas makes: no WAL archiving, no pgBackRest
 *      repository or stanza, no PgBouncer. The timer stops when both replicas are
 *      streaming at lag 0 (GET /cluster lag 0 on both replicas and the leader's GET /patroni
 *      lists both as `streaming`, the same test dbaas applies) and then a write through the
 *      HAProxy rw port succeeds (written after the replicas stream, as dbaas does: a write
 *      during the clones slows their checkpoints). Informational figures: the /cluster-only
 *      stop (rw reachable + lag 0, no streaming check) and plain + a read through ro.
 *      Everything is named `bench-plain-<id>-*` and carries no dbaas.* label, so dbaas never
 *      sees it; it is removed after each iteration (also on SIGINT/SIGTERM).
 *   C. plain Docker, full (the like-for-like side, the headline ratio): B plus what dbaas's
 *      create also makes: a repository volume mounted in every Patroni node with the rendered
 *      pgbackrest.conf, WAL archiving into the stanza (archive_mode in the rendered Patroni
 *      config), and PgBouncer rw and ro (rendered pgbouncer.ini and auth file, started with
 *      HAProxy). Once the replicas stream, three things run in parallel, as in dbaas: the write
 *      through rw, `pgbackrest stanza-create` + `check` on the leader, and the poolers' auth SQL
 *      through rw followed by a query through each pooled endpoint. The timer stops when all three
 *      are done. Named `bench-plainfull-<id>-*`.
 *
 * A benchmark, not a test: it prints figures and PASS/MISS against the targets (informational)
 * and exits 0 unless something failed. Usage:
 *
 *   node dist/bench/create-cluster.js [--runs N] [--profile default|fast] [--only dbaas|plain] [--logs DIR]
 *
 * --logs DIR keeps every container's log (docker logs -t) of every iteration in DIR.
 *
 * It expects `npx dbaas dev up` (Temporal, worker, images); TEMPORAL_ADDRESS, DBAAS_HOME and
 * the rest of the environment pass through to the CLI unchanged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { exitWith, fmt, load1, median, secs } from './lib';
import {
  createPlainHaproxy, createPlainNetwork, createPlainPooler, createPlainPostgres, createPlainRepository, createPlainStanza, planPlain, removePlain,
  runPlainEtcd, type PlainPlan,
} from './plain-cluster';
import { POOLER_AUTH_USER, poolerAuthSql } from '../common/render/pgbouncer';
import { BENCH_VERSION_ARGS, abort, checkAbort, cli, deleteDbaasCluster, docker, getJson, leftovers, now, run, sleep, startBench } from './proc';
import { DEFAULT_DATABASE, SUPERUSER } from '../common/service-users';
import { PATRONI_API_PORT } from '../common/service-ports';
import { containerName } from '../common/resource-names';
import { PROFILES, etcdMemberNames, isProfileName, memberNames, type ProfileName } from '../common/spec';

// ---------------------------------------------------------------------------------------------
// Settings

const REPLICAS = 2;
/** Issue 17: within 1.1× of the plain side with the same configs; reported against the full plain side too. */
const TARGET_RATIO = 1.1;
/** Same cadence as the dbaas wait activities. */
const POLL_MS = 250;
const PLAIN_TIMEOUT_MS = 240_000;
/** After the plain timer stops, keep polling this long for a read through ro (informational). */
const PLAIN_RO_TIMEOUT_MS = 30_000;
/** A create that takes longer than this is killed (and then deleted): usually no worker is polling. */
const DBAAS_TIMEOUT_MS = 5 * 60_000;
const PLAIN_PORT_FIRST = 25432;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Replica slot diagnostics from a Postgres container's log (Patroni passes Postgres' stderr through). */
export interface SlotDiag {
  member: string;
  /** The walreceiver found no slot for this member at least once. */
  slotMissing: boolean;
  /** Seconds from the first "slot does not exist" to "started streaming" (undefined if not both seen). */
  slotWaitS?: number;
}

async function slotDiagnostics(container: string, member: string): Promise<SlotDiag> {
  const r = await run('docker', ['logs', '-t', container]);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  const ts = (l: string): number => Date.parse(l.slice(0, l.indexOf(' ')));
  const missing = lines.find((l) => /replication slot "[^"]+" does not exist/.test(l));
  const streaming = lines.find((l) => /started streaming WAL from primary/.test(l));
  const d: SlotDiag = { member, slotMissing: Boolean(missing) };
  if (missing && streaming) d.slotWaitS = secs(ts(streaming) - ts(missing));
  return d;
}

/** With --logs DIR: container logs (with Docker timestamps) to DIR/<tag>-<member>.log before removal. */
let logsDir: string | undefined;

async function saveLogs(tag: string, containers: { member: string; name: string }[]): Promise<void> {
  if (!logsDir) return;
  fs.mkdirSync(logsDir, { recursive: true });
  await Promise.all(containers.map(async (c) => {
    const r = await run('docker', ['logs', '-t', c.name]);
    fs.writeFileSync(path.join(logsDir as string, `${tag}-${c.member}.log`), `${r.stdout}${r.stderr}`);
  }));
}

// ---------------------------------------------------------------------------------------------
// A. dbaas

interface DbaasResult {
  name: string;
  /** Wall clock at the start of the timer (to line up with --logs). */
  startedAt?: string;
  seconds: number;
  /** "done in" as printed by the CLI (time following the workflow). */
  followS?: number;
  /** Step name → seconds as printed by the CLI (✓ lines). */
  steps: Record<string, number>;
  slots: SlotDiag[];
  deleteS?: number;
}

async function runDbaas(name: string, profile: ProfileName): Promise<DbaasResult> {
  const steps: Record<string, number> = {};
  let followS: number | undefined;
  const onLine = (l: string): void => {
    process.stdout.write(`    [dbaas] ${l}\n`);
    const m = /^✓ (.+) \((\d+(?:\.\d+)?)s\)$/.exec(l);
    if (m) steps[m[1]] = Number(m[2]);
    const d = /^done in (\d+(?:\.\d+)?)s$/.exec(l);
    if (d) followS = Number(d[1]);
  };
  const result: DbaasResult = { name, seconds: NaN, steps, slots: [] };
  leftovers.add(`dbaas cluster ${name}`);
  let started = false;
  try {
    result.startedAt = new Date().toISOString();
    const t0 = now();
    const { child, exited } = cli(['cluster', 'create', name, ...BENCH_VERSION_ARGS, '--replicas', String(REPLICAS), '--profile', profile], onLine);
    started = true;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, DBAAS_TIMEOUT_MS);
    const onAbort = (): void => {
      process.stdout.write(`    (waiting for the create of ${name} to finish, then deleting it)\n`);
    };
    abort.signal.addEventListener('abort', onAbort, { once: true });
    let code: number | string;
    try {
      code = await exited;
    } finally {
      clearTimeout(timer);
      abort.signal.removeEventListener('abort', onAbort);
    }
    const t1 = now();
    if (timedOut) throw new Error(`dbaas cluster create ${name} did not finish in ${DBAAS_TIMEOUT_MS / 1000} s (is a worker polling? \`npx dbaas dev status\`)`);
    if (code !== 0) throw new Error(`dbaas cluster create ${name} exited with ${code}`);
    result.seconds = secs(t1 - t0);
    result.followS = followS;
    result.slots = await Promise.all(
      memberNames(REPLICAS).slice(1).map((m) => slotDiagnostics(containerName(name, m), m)),
    );
    return result;
  } finally {
    if (started) {
      await saveLogs(`${name}-dbaas`, [...etcdMemberNames(1), ...memberNames(REPLICAS), 'haproxy'].map((m) => ({ member: m, name: containerName(name, m) })))
        .catch((err: unknown) => process.stderr.write(`    warning: saving logs: ${(err as Error).message}\n`));
      const t0 = now();
      await deleteDbaasCluster(name, '    ');
      result.deleteS = secs(now() - t0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// B. plain Docker

interface PlainResult {
  prefix: string;
  /** The full variant (repository, archiving, stanza, poolers). */
  full: boolean;
  /** Wall clock at the start of the timer (to line up with --logs). */
  startedAt?: string;
  /** Timer stop: write via rw done and both replicas streaming at lag 0. */
  seconds: number;
  /** The /cluster-only criterion: max(rwReady, lag0), no streaming check, no write. */
  lag0OnlySeconds?: number;
  /** Milestones, seconds from the first docker command. */
  milestones: {
    /** All docker commands returned (network, etcd, 3× create+cp+start, haproxy). */
    commandsDone?: number;
    leaderRunning?: number;
    /** rw reaches a server not in recovery (read-only probe: it dirties nothing on the leader). */
    rwReady?: number;
    /** GET /cluster: both replicas running with lag 0 (true even before streaming, see README). */
    lag0?: number;
    /** Leader's GET /patroni lists both replicas `streaming` while /cluster says lag 0. */
    streamingLag0?: number;
    /** The write through rw, made once the replicas stream (the bare variant's timer stops here). */
    rwWrite?: number;
    /** Full variant: stanza-create and check done on the leader. */
    stanza?: number;
    /** Full variant: the poolers' auth SQL done and a query through each pooled endpoint answered. */
    pooled?: number;
    /** Informational: the row read back through ro from a server in recovery. */
    roRead?: number;
  };
  /** Durations of the docker command phases, seconds. */
  commands: Record<string, number>;
  leader?: string;
  ports: PlainPlan['ports'];
  slots: SlotDiag[];
}

interface ClusterJson {
  members?: { name: string; role: string; state: string; lag?: number | string }[];
}

interface PatroniJson {
  replication?: { application_name: string; state: string }[];
}

async function pgClient(port: number, password: string): Promise<Client> {
  const c = new Client({
    host: '127.0.0.1', port, user: SUPERUSER, database: DEFAULT_DATABASE, password,
    // A client-side limit: PgBouncer refuses statement_timeout as a startup parameter (ignore_startup_parameters).
    connectionTimeoutMillis: 3000, query_timeout: 10000,
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** Connect, run `check`, close; any failure counts as "not yet". */
async function probe(port: number, password: string, check: (c: Client) => Promise<boolean>): Promise<boolean> {
  let c: Client | undefined;
  try {
    c = await pgClient(port, password);
    return await check(c);
  } catch {
    return false;
  } finally {
    await c?.end().catch(() => undefined);
  }
}

const inRecovery = async (c: Client): Promise<boolean> =>
  (await c.query<{ rec: boolean }>('select pg_is_in_recovery() as rec')).rows[0].rec;

const rwReady = (port: number, password: string): Promise<boolean> => probe(port, password, async (c) => !(await inRecovery(c)));

const tryWrite = (port: number, password: string, token: string): Promise<boolean> =>
  probe(port, password, async (c) => {
    await c.query('create schema if not exists bench');
    await c.query('create table if not exists bench.smoke (token text primary key, written_at timestamptz not null default now())');
    await c.query('insert into bench.smoke (token) values ($1) on conflict (token) do nothing', [token]);
    return !(await inRecovery(c));
  });

const tryRead = (port: number, password: string, token: string): Promise<boolean> =>
  probe(port, password, async (c) => {
    const row = await c.query('select 1 from bench.smoke where token = $1', [token]);
    return (await inRecovery(c)) && (row.rowCount ?? 0) > 0;
  });

/** The poolers' auth user and lookup function through rw, as dbaas's ensurePoolerAuth does. */
const tryPoolerAuth = (port: number, password: string, poolerPassword: string): Promise<boolean> =>
  probe(port, password, async (c) => {
    if (await inRecovery(c)) return false;
    for (const sql of poolerAuthSql()) await c.query(sql);
    await c.query(`ALTER ROLE ${POOLER_AUTH_USER} PASSWORD ${c.escapeLiteral(poolerPassword)}`);
    return true;
  });

async function runPlain(prefix: string, profileName: ProfileName, full: boolean): Promise<PlainResult> {
  const plan = await planPlain(prefix, profileName, REPLICAS, PLAIN_PORT_FIRST, [], { full });
  const { etcd, members, ctr, passwords, ports } = plan;
  const poolers = full ? ['pgbouncer-rw', 'pgbouncer-ro'] : [];
  const token = `${prefix}/${Date.now()}`;
  const result: PlainResult = { prefix, full, seconds: NaN, milestones: {}, commands: {}, ports, slots: [] };
  const ms = result.milestones;
  result.startedAt = new Date().toISOString();
  const t0 = now();
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const s = now();
    try {
      return await fn();
    } finally {
      result.commands[name] = secs(now() - s);
    }
  };
  try {
    await Promise.all([
      phase('network create', () => createPlainNetwork(plan)),
      // Before the nodes are created: `docker create -v` would make an unlabelled volume.
      ...(full ? [phase('repository create', () => createPlainRepository(plan))] : []),
    ]);
    // etcd runs while the Postgres, HAProxy (and pooler) containers are created and given their configs.
    const etcdUp = phase('etcd run', () => Promise.all(etcd.map((m) => runPlainEtcd(plan, m))));
    const pgReady = phase('postgres create+cp', () => Promise.all(members.map((m) => createPlainPostgres(plan, m))));
    const haReady = phase('haproxy create+cp', () => createPlainHaproxy(plan));
    const poolersReady = full ? phase('pgbouncer create+cp', () => Promise.all((['rw', 'ro'] as const).map((k) => createPlainPooler(plan, k)))) : undefined;
    await Promise.all([etcdUp, pgReady]);
    // The three Patroni nodes start together and race for the initialize key.
    await phase('postgres start', () => Promise.all(members.map((m) => docker(['start', ctr(m)]))));
    await haReady;
    await phase('haproxy start', () => docker(['start', ctr('haproxy')]));
    if (poolersReady) {
      await poolersReady;
      await phase('pgbouncer start', () => Promise.all(poolers.map((m) => docker(['start', ctr(m)]))));
    }
    ms.commandsDone = secs(now() - t0);
    checkAbort();

    const ipOut = await docker(['inspect', '-f', `{{.Name}} {{(index .NetworkSettings.Networks "${plan.network}").IPAddress}}`, ...members.map(ctr)]);
    const ip = new Map<string, string>();
    for (const line of ipOut.split('\n')) {
      const [n, addr] = line.trim().split(' ');
      const m = members.find((x) => `/${ctr(x)}` === n);
      if (m && addr) ip.set(m, addr);
    }
    const api = (m: string): string => `http://${ip.get(m)}:${PATRONI_API_PORT}`;

    // Two independent pollers (a slow connect attempt must not delay the Patroni view). The rw
    // probe only reads: a write while the replicas clone dirties buffers, and the clones' spread
    // checkpoints pay ~100 ms per dirty buffer (measured: +4.8 s). dbaas writes at the end too.
    const deadline = t0 + PLAIN_TIMEOUT_MS;
    const pollFor = async (what: string, probe: () => Promise<string | undefined>): Promise<void> => {
      let last = 'nothing yet';
      for (;;) {
        checkAbort();
        const status = await probe().catch((err: unknown) => (err as Error).message);
        if (status === undefined) return;
        last = status;
        if (now() > deadline) throw new Error(`plain docker: timed out after ${PLAIN_TIMEOUT_MS / 1000}s waiting for ${what} (last: ${last})`);
        await sleep(POLL_MS);
      }
    };
    const rw = pollFor('rw to reach the leader', async () => {
      if (!(await rwReady(ports.rw, passwords.superuser))) return 'rw not ready';
      ms.rwReady = secs(now() - t0);
      return undefined;
    });
    const replicas = pollFor('replicas streaming at lag 0', async () => {
      let cl: ClusterJson | undefined;
      for (const m of members) {
        try {
          cl = (await getJson(`${api(m)}/cluster`)) as ClusterJson;
          break;
        } catch {
          // next member
        }
      }
      if (!cl) return 'no Patroni API answers';
      const all = cl.members ?? [];
      const leader = all.find((m) => m.role === 'leader' && m.state === 'running');
      if (!leader) return `no running leader (${all.map((m) => `${m.name}=${m.role}/${m.state}`).join(' ')})`;
      result.leader = leader.name;
      ms.leaderRunning ??= secs(now() - t0);
      const reps = all.filter((m) => m.name !== leader.name);
      const lag0 = reps.length === REPLICAS && reps.every((m) => m.state === 'running' && m.lag === 0);
      if (!lag0) return `replicas ${reps.map((m) => `${m.name}=${m.state}/lag ${String(m.lag)}`).join(' ')}`;
      ms.lag0 ??= secs(now() - t0);
      const st = (await getJson(`${api(leader.name)}/patroni`)) as PatroniJson;
      const streaming = reps.every((r) => (st.replication ?? []).some((x) => x.application_name === r.name && x.state === 'streaming'));
      if (!streaming) return `lag 0 but replication [${(st.replication ?? []).map((x) => `${x.application_name}:${x.state}`).join(' ')}]`;
      ms.streamingLag0 = secs(now() - t0);
      return undefined;
    });
    // Both must be waited on (allSettled) so neither keeps polling after the other failed.
    const settled = await Promise.allSettled([rw, replicas]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    const write = pollFor('a write through rw', async () => {
      if (!(await tryWrite(ports.rw, passwords.superuser, token))) return 'no write yet';
      ms.rwWrite = secs(now() - t0);
      return undefined;
    });
    // The full variant's extra work, in parallel with the write as dbaas runs it.
    const stanza = !full ? undefined : pollFor('stanza-create and check on the leader', async () => {
      await createPlainStanza(plan, result.leader ?? members[0]);
      ms.stanza = secs(now() - t0);
      return undefined;
    });
    const pooled = !full ? undefined : (async () => {
      await pollFor('the poolers\' auth SQL through rw', async () =>
        ((await tryPoolerAuth(ports.rw, passwords.superuser, passwords.pooler)) ? undefined : 'not yet'));
      await pollFor('a query through each pooled endpoint', async () => {
        for (const port of [ports.pooledRw, ports.pooledRo]) {
          const answered = port !== undefined && (await probe(port, passwords.superuser, async (c) => (await c.query('select 1')).rowCount === 1));
          if (!answered) return `pooled port ${String(port)} not answering`;
        }
        ms.pooled = secs(now() - t0);
        return undefined;
      });
    })();
    const done = await Promise.allSettled([write, ...(stanza ? [stanza] : []), ...(pooled ? [pooled] : [])]);
    for (const r of done) if (r.status === 'rejected') throw r.reason;
    result.seconds = secs(now() - t0);
    result.lag0OnlySeconds = Math.max(ms.rwReady ?? NaN, ms.lag0 ?? NaN);

    // Informational: how much longer until ro serves the row from a replica (dbaas waits for it).
    const roDeadline = now() + PLAIN_RO_TIMEOUT_MS;
    while (now() < roDeadline && !abort.signal.aborted) {
      if (await tryRead(ports.ro, passwords.superuser, token)) {
        ms.roRead = secs(now() - t0);
        break;
      }
      await sleep(POLL_MS);
    }
    result.slots = await Promise.all(
      members.filter((m) => m !== result.leader).map((m) => slotDiagnostics(ctr(m), m)),
    );
    return result;
  } finally {
    await saveLogs(prefix, [...etcd, ...members, 'haproxy', ...poolers].map((m) => ({ member: m, name: ctr(m) })))
      .catch((err: unknown) => process.stderr.write(`    warning: saving logs: ${(err as Error).message}\n`));
    await removePlain(plan);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

interface Iteration {
  run: number;
  order: string;
  load1Before: number;
  load1After?: number;
  dbaas?: DbaasResult;
  /** B, the bare plain cluster. */
  plain?: PlainResult;
  /** C, the full plain cluster (repository, archiving, stanza, poolers). */
  plainFull?: PlainResult;
  /** dbaas / C: the same work (headline). */
  ratio?: number;
  /** dbaas / B: dbaas also makes the repository, archiving, stanza and poolers that B lacks. */
  ratioBare?: number;
  /** dbaas / plain under the /cluster-only criterion (no streaming check), informational. */
  ratioLag0Only?: number;
  /** dbaas / (plain + the wait for a read through ro, which dbaas also makes), informational. */
  ratioWithRo?: number;
  error?: string;
}

function usage(): string {
  return 'usage: node dist/bench/create-cluster.js [--runs N] [--profile default|fast] [--only dbaas|plain] [--logs DIR]';
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      options: {
        runs: { type: 'string', default: '3' },
        profile: { type: 'string', default: 'default' },
        only: { type: 'string' },
        logs: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage()}`);
    return 2;
  }
  if (opts.help) {
    console.log(usage());
    return 0;
  }
  const runs = Number(opts.runs);
  const profile = opts.profile ?? 'default';
  const only = opts.only;
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`--runs must be a positive integer\n${usage()}`);
    return 2;
  }
  if (!isProfileName(profile)) {
    console.error(`--profile must be default or fast\n${usage()}`);
    return 2;
  }
  if (only !== undefined && only !== 'dbaas' && only !== 'plain') {
    console.error(`--only must be dbaas or plain\n${usage()}`);
    return 2;
  }
  logsDir = opts.logs === undefined ? undefined : path.resolve(opts.logs);
  const { id, startedAt, otherContainers: others } = await startBench();
  const p = PROFILES[profile].patroni;
  console.log(`bench create-cluster: ${runs} run(s), profile ${profile} (ttl ${p.ttl}, loop_wait ${p.loopWait}), ` +
    `${REPLICAS} replicas, ${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ` +
    `${others} other container(s) running, TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS ?? '(default)'}`);

  const iterations: Iteration[] = [];
  let failed = false;
  for (let i = 1; i <= runs && !abort.signal.aborted; i++) {
    // Alternate the order so neither side always runs on a machine warmed (or loaded) by the other.
    const sides: ('dbaas' | 'plain')[] = (i % 2 === 1 ? ['dbaas', 'plain'] : ['plain', 'dbaas'])
      .filter((s) => only === undefined || s === only) as ('dbaas' | 'plain')[];
    const it: Iteration = { run: i, order: sides.join(','), load1Before: load1() };
    iterations.push(it);
    console.log(`\nrun ${i}/${runs} (${it.order}), load ${it.load1Before}`);
    try {
      for (const side of sides) {
        checkAbort();
        if (side === 'dbaas') {
          const name = `bench-${id}-${i}`;
          console.log(`  dbaas: cluster create ${name}`);
          it.dbaas = await runDbaas(name, profile);
          console.log(`  dbaas: ${fmt(it.dbaas.seconds)} s (following the workflow ${fmt(it.dbaas.followS)} s; delete ${fmt(it.dbaas.deleteS)} s)`);
        } else {
          // The bare and the full plain cluster, one after the other (alternating which goes first).
          for (const full of i % 2 === 1 ? [false, true] : [true, false]) {
            checkAbort();
            const prefix = `bench-${full ? 'plainfull' : 'plain'}-${id}-${i}`;
            const tag = full ? 'plain full' : 'plain bare';
            console.log(`  ${tag}: ${prefix}-*`);
            const res = await runPlain(prefix, profile, full);
            if (full) it.plainFull = res;
            else it.plain = res;
            const m = res.milestones;
            console.log(`  ${tag}: ${fmt(res.seconds)} s (commands ${fmt(m.commandsDone)}, leader ${fmt(m.leaderRunning)}, ` +
              `rw ready ${fmt(m.rwReady)}, /cluster lag 0 ${fmt(m.lag0)}, streaming+lag 0 ${fmt(m.streamingLag0)}, ` +
              `rw write ${fmt(m.rwWrite)}${full ? `, stanza ${fmt(m.stanza)}, pooled ${fmt(m.pooled)}` : ''}, ro read ${fmt(m.roRead)}; ` +
              `leader ${res.leader}, ports ${res.ports.rw}-${res.ports.pooledRo ?? res.ports.stats})`);
          }
        }
      }
      if (it.dbaas) {
        const r = (den: number | undefined): number | undefined =>
          den === undefined || !Number.isFinite(den) ? undefined : Math.round(((it.dbaas as DbaasResult).seconds / den) * 100) / 100;
        it.ratio = r(it.plainFull?.seconds);
        it.ratioBare = r(it.plain?.seconds);
        it.ratioLag0Only = r(it.plain?.lag0OnlySeconds);
        it.ratioWithRo = r(it.plain?.milestones.roRead);
      }
      const slots = [
        ...(it.dbaas?.slots ?? []).map((s) => ({ ...s, side: 'dbaas' })), ...(it.plain?.slots ?? []).map((s) => ({ ...s, side: 'plain bare' })),
        ...(it.plainFull?.slots ?? []).map((s) => ({ ...s, side: 'plain full' })),
      ];
      if (slots.length > 0) {
        console.log(`  replica slot waits: ${slots.map((s) => `${s.side} ${s.member} ${s.slotMissing ? `missing, streaming ${fmt(s.slotWaitS)} s later` : 'never missing'}`).join('; ')}`);
      }
    } catch (err) {
      failed = true;
      it.error = (err as Error).message;
      console.error(`  run ${i} failed: ${it.error}`);
    } finally {
      it.load1After = load1();
    }
  }

  // Summary
  const ok = iterations.filter((x) => !x.error);
  const med = {
    dbaas: median(ok.map((x) => x.dbaas?.seconds ?? NaN)),
    plainFull: median(ok.map((x) => x.plainFull?.seconds ?? NaN)),
    ratio: median(ok.map((x) => x.ratio ?? NaN)),
    plain: median(ok.map((x) => x.plain?.seconds ?? NaN)),
    ratioBare: median(ok.map((x) => x.ratioBare ?? NaN)),
    plainLag0Only: median(ok.map((x) => x.plain?.lag0OnlySeconds ?? NaN)),
    ratioLag0Only: median(ok.map((x) => x.ratioLag0Only ?? NaN)),
    plainWithRo: median(ok.map((x) => x.plain?.milestones.roRead ?? NaN)),
    ratioWithRo: median(ok.map((x) => x.ratioWithRo ?? NaN)),
  };
  const cols = (x: { d?: number; f?: number; r?: number; p?: number; rb?: number; pl?: number; rl?: number; pr?: number; rr?: number }): string =>
    `${fmt(x.d).padStart(7)}  ${fmt(x.f).padStart(6)}  ${fmt(x.r, 2).padStart(5)}  | ${fmt(x.p).padStart(6)}  ${fmt(x.rb, 2).padStart(5)}  | ` +
    `${fmt(x.pl).padStart(8)}  ${fmt(x.rl, 2).padStart(5)}  | ${fmt(x.pr).padStart(8)}  ${fmt(x.rr, 2).padStart(5)}`;
  console.log('\n                   ------ headline ------   ---- bare ----   informational: bare plain by a looser / a stricter stop');
  console.log('run  order          dbaas s  full s  ratio  | bare s  ratio  | lag0-only  ratio  | plain+ro  ratio  load1 before/after');
  for (const x of iterations) {
    const row = x.error
      ? `ERROR: ${x.error}`
      : `${cols({
        d: x.dbaas?.seconds, f: x.plainFull?.seconds, r: x.ratio, p: x.plain?.seconds, rb: x.ratioBare,
        pl: x.plain?.lag0OnlySeconds, rl: x.ratioLag0Only, pr: x.plain?.milestones.roRead, rr: x.ratioWithRo,
      })}  ${x.load1Before}/${x.load1After ?? '-'}`;
    console.log(`${String(x.run).padEnd(4)} ${x.order.padEnd(13)} ${row}`);
  }
  console.log(`${'median'.padEnd(18)} ${cols({
    d: med.dbaas, f: med.plainFull, r: med.ratio, p: med.plain, rb: med.ratioBare, pl: med.plainLag0Only, rl: med.ratioLag0Only, pr: med.plainWithRo, rr: med.ratioWithRo,
  })}`);
  console.log('  full: plain with what dbaas makes (repository, WAL archiving, stanza-create + check, PgBouncer rw/ro and their auth SQL),\n' +
    '  stopped once the replicas stream at lag 0 and the write, the stanza and a query through each pooler are done (the same bar dbaas sets).\n' +
    '  bare: plain without repository, archiving, stanza or poolers; rw write once both replicas stream at lag 0. lag0-only: rw reachable\n' +
    '  and /cluster lag 0 (no streaming check; a replica that has no slot yet passes). plain+ro: bare plus a read via ro, as dbaas does.');

  // Plain milestones, median.
  const msNames = ['commandsDone', 'leaderRunning', 'rwReady', 'lag0', 'streamingLag0', 'rwWrite', 'stanza', 'pooled', 'roRead'] as const;
  for (const side of ['plain', 'plainFull'] as const) {
    if (!ok.some((x) => x[side])) continue;
    console.log(`\n${side === 'plain' ? 'bare' : 'full'} plain milestones, median s from the first docker command: ${msNames
      .filter((n) => ok.some((x) => x[side]?.milestones[n] !== undefined))
      .map((n) => `${n} ${fmt(median(ok.map((x) => x[side]?.milestones[n] ?? NaN)))}`).join(', ')}`);
  }

  // Replicas whose walreceiver found no slot (the leader had not run an HA cycle since they registered).
  for (const side of ['dbaas', 'plain', 'plainFull'] as const) {
    const all = ok.flatMap((x) => x[side]?.slots ?? []);
    if (all.length === 0) continue;
    const missing = all.filter((d) => d.slotMissing);
    console.log(`replicas that waited for their replication slot, ${side}: ${missing.length}/${all.length}` +
      (missing.length ? ` (median ${fmt(median(missing.map((d) => d.slotWaitS ?? NaN)))} s from the first refusal to streaming)` : ''));
  }

  // Median per dbaas step (as printed by the CLI; parallel steps overlap).
  const stepNames = [...new Set(ok.flatMap((x) => Object.keys(x.dbaas?.steps ?? {})))];
  if (stepNames.length > 0) {
    console.log('\ndbaas steps, median s (as the CLI prints them; parallel steps overlap):');
    for (const s of stepNames) console.log(`  ${fmt(median(ok.map((x) => x.dbaas?.steps[s] ?? NaN))).padStart(5)}  ${s}`);
    const cliOverhead = median(ok.map((x) => (x.dbaas && x.dbaas.followS !== undefined ? x.dbaas.seconds - x.dbaas.followS : NaN)));
    console.log(`  ${fmt(cliOverhead).padStart(5)}  CLI start, Temporal/Docker connect, workflow start (process time − "done in")`);
  }

  const verdict = (v: number | undefined): string => (v === undefined ? 'n/a' : v <= TARGET_RATIO ? 'PASS' : 'MISS');
  const targets = {
    ratioBare: { target: TARGET_RATIO, value: med.ratioBare, result: verdict(med.ratioBare) },
    ratio: { target: TARGET_RATIO, value: med.ratio, result: verdict(med.ratio) },
  };
  console.log(`\ntarget ratio ≤ ${TARGET_RATIO} (informational): against plain with the same configs ${targets.ratioBare.result} (median ${fmt(med.ratioBare, 2)}); ` +
    `against plain that also starts the poolers and the stanza ${targets.ratio.result} (median ${fmt(med.ratio, 2)}); dbaas median ${fmt(med.dbaas)} s, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`BENCH_JSON ${JSON.stringify({
    bench: 'create-cluster', profile, runs, replicas: REPLICAS, cpus: os.cpus().length,
    startedAt, iterations, median: med, targets, interrupted: abort.signal.aborted,
  })}`);
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

exitWith('create-cluster', main());
