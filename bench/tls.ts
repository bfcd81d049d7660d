/**
 * bench/tls: what TLS costs a client of rw. One dbaas cluster (leader + 1 replica), pgbench run
 * from this host through the rw port, with `sslmode=verify-full` (what `connect` prints) against
 * `sslmode=disable` (the same work without TLS), alternating, in the same run, on the same
 * cluster. Modes: select-only and tpcb-like on held connections (the headline), and select-only
 * with a new connection per transaction (-C: the handshake's cost, for information).
 *
 *   node dist/bench/tls.js [--runs 3]
 *
 * The cluster refuses plain connections; for the plain side the bench adds one pg_hba.conf line
 * in the leader (`hostnossl all postgres … scram-sha-256`, before the reject) and reloads. The
 * cluster is the bench's own and is deleted at the end. The password goes to pgbench through a
 * password file (PGPASSFILE), never its command line.
 *
 * Target: TLS ≥ 0.9 of plain tps on select-only (median ratio). Run it alone on the machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_DATABASE, SUPERUSER } from '../common/service-users';
import { resolvePaths } from '../common/paths';
import { DATA_DIR } from '../common/render/patroni';
import { readClusterSecrets } from '../activities/secrets';
import { caCertPath } from '../activities/cluster-tls';
import { pgpassLine, psqlEnvironment } from '../client/commands/psql';
import type { ConnectionTarget } from '../client/connection-target';
import { exitWith, fmt, load1, median, parseRunsOptions } from './lib';
import {
  abort, checkAbort, createLoadedCluster, dbaas, deleteDbaasCluster, exec, leftovers, must, psql, startClusterBench, type LoadedSetup,
} from './proc';

const SCALE = 10;
const CLIENTS = 4;
const THREADS = 2;
const SECONDS = 15;
const TARGET_RATIO = 0.9;

type Mode = 'select-only' | 'tpcb-like' | 'select-only, connection per transaction';
const MODES: [Mode, string[]][] = [
  ['select-only', ['-S']],
  ['tpcb-like', []],
  ['select-only, connection per transaction', ['-S', '-C']],
];
type Side = 'tls' | 'plain';

interface Figure { mode: Mode; side: Side; run: number; tps: number; load: number }

async function pgbench(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const r = await exec('pgbench', [...args, '-c', String(CLIENTS), '-j', String(THREADS), '-T', String(SECONDS), '-n'], { env });
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout) ?? /tps = ([\d.]+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`pgbench ${args.join(' ')} failed (${r.code}): ${r.out.trim().split('\n').slice(-2).join(' ')}`);
  return Number(m[1]);
}

async function main(): Promise<number> {
  const opts = parseRunsOptions('usage: node dist/bench/tls.js [--runs N]');
  if (typeof opts === 'number') return opts;
  const { runs } = opts;
  if ((await exec('pgbench', ['--version']).catch(() => ({ code: 'ENOENT' }))).code !== 0) throw new Error('pgbench not found (Debian: apt-get install postgresql-15)');
  const { name, startedAt, loadStart } = await startClusterBench('bench-tls');
  console.log(`bench tls: ${runs} run(s), cluster ${name}, ${os.cpus().length} cpus, load ${loadStart}; pgbench -s ${SCALE} -c ${CLIENTS} -j ${THREADS} -T ${SECONDS}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tls-'));
  const figures: Figure[] = [];
  const setup: LoadedSetup = {};
  let failed = false;
  try {
    const leaderCtr = await createLoadedCluster(name, SCALE, setup);
    const paths = resolvePaths();
    const port = (JSON.parse((await dbaas(['cluster', 'status', name, '--json'], 'cluster status')).stdout) as { endpoints: { rw: { port: number } } }).endpoints.rw.port;
    // The plain side's one exception to hostssl-only, first in the file, for this bench's cluster only.
    await must('docker', ['exec', '-u', 'postgres', leaderCtr, 'sed', '-i', `1i hostnossl all ${SUPERUSER} 0.0.0.0/0 scram-sha-256`, `${DATA_DIR}/pg_hba.conf`], 'pg_hba.conf');
    await psql(leaderCtr, 'select pg_reload_conf()');
    const passfile = path.join(dir, 'pgpass');
    const target: ConnectionTarget = {
      host: '127.0.0.1', port, user: SUPERUSER, database: DEFAULT_DATABASE, password: readClusterSecrets(paths, name).superuser,
      sslmode: 'verify-full', sslrootcert: caCertPath(paths, name),
    };
    // The same password file and libpq variables as `dbaas psql` uses.
    fs.writeFileSync(passfile, pgpassLine(target), { mode: 0o600 });
    const envOf: Record<Side, NodeJS.ProcessEnv> = {
      tls: psqlEnvironment(target, passfile, process.env),
      plain: psqlEnvironment({ ...target, sslmode: 'disable', sslrootcert: undefined }, passfile, process.env),
    };
    console.log(`set-up: database ${DEFAULT_DATABASE} loaded (pgbench -i -s ${SCALE}, ${fmt(setup.pgbenchS)} s), rw 127.0.0.1:${port}, leader ${setup.leader}`);
    for (let i = 1; i <= runs; i++) {
      for (const [mode, args] of MODES) {
        const sides: Side[] = i % 2 === 1 ? ['tls', 'plain'] : ['plain', 'tls'];
        for (const side of sides) {
          checkAbort();
          const tps = await pgbench(envOf[side], args);
          figures.push({ mode, side, run: i, tps, load: load1() });
          console.log(`  run ${i} ${mode.padEnd(40)} ${side.padEnd(5)} ${fmt(tps, 0).padStart(7)} tps  (load ${load1()})`);
        }
      }
    }
  } catch (err) {
    failed = !abort.signal.aborted;
    if (failed) console.error(`bench tls: ${(err as Error).message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    if (leftovers.has(`cluster ${name}`)) {
      await deleteDbaasCluster(name, '  ');
      leftovers.delete(`cluster ${name}`);
    }
  }
  const ratios: Record<string, number | undefined> = {};
  console.log(`\nmedian tps (${runs} run(s)), TLS / plain:`);
  for (const [mode] of MODES) {
    const tls = median(figures.filter((f) => f.mode === mode && f.side === 'tls').map((f) => f.tps));
    const plain = median(figures.filter((f) => f.mode === mode && f.side === 'plain').map((f) => f.tps));
    ratios[mode] = tls !== undefined && plain ? tls / plain : undefined;
    console.log(`  ${mode.padEnd(40)} TLS ${fmt(tls, 0).padStart(7)}  plain ${fmt(plain, 0).padStart(7)}  ratio ${fmt(ratios[mode], 2)}`);
  }
  const headline = ratios['select-only'];
  const result = headline === undefined ? 'n/a' : headline >= TARGET_RATIO ? 'PASS' : 'MISS';
  console.log(`target TLS / plain on select-only ≥ ${TARGET_RATIO}: ${result} (${fmt(headline, 2)}); load ${load1()} (1 min) at the end, ${loadStart} at the start`);
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'tls', runs, cpus: os.cpus().length, cluster: name, startedAt, loadStart, loadEnd: os.loadavg(), setup, figures, ratios, target: { ratio: TARGET_RATIO, value: headline, result } })}`);
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

exitWith('tls', main());
