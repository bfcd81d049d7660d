/**
 * bench/backup-restore: a full backup and a point-in-time restore of a ~1 GB database
 * (pgbench -s 70) through dbaas, against the same pgBackRest commands run by hand in the same
 * run. Set-up (not timed): `cluster create bench-br-<id> --replicas 1`, pgbench -i, CHECKPOINT.
 *   A. dbaas: spawn to exit of `backup run <name> --type full` (MB/s = the backup's database
 *      bytes / seconds); then a target time T after it, and spawn to exit of
 *      `restore <name> --into <name>-rN --to-time T --replicas 0`, split by the CLI's step lines
 *      (the "create … from …'s backups" step is the restore proper). The restored cluster is
 *      deleted after each run (not timed).
 *   B. plain: `docker exec -u postgres <leader> pgbackrest --stanza=<name> --pg2-host=<standby> …
 *      --backup-standby --type=full backup` (same repository, same pgbackrest.conf, the data files
 *      read from the standby over TLS as dbaas reads them); then `pgbackrest check` on the leader (what the
 *      dbaas restore's "archive" step does) and `docker run --rm dbaas/postgres:local` with the
 *      repository volume read-only at /var/lib/pgbackrest-source and a fresh data volume:
 *      `pgbackrest … --type=time --target=T --target-action=promote restore`, then pg_ctl start
 *      until pg_is_in_recovery() is false (what the restored cluster's first member does).
 * The restore ratio (headline) compares the same work with the same boundaries: dbaas's restore
 * helper (the child CreateCluster's `restoreMemberData` activity: the data volume and the
 * helper container created and started, pgbackrest restore, PostgreSQL started until promoted,
 * roles' passwords set, stopped; plus its `removeRestoreHelper` activity) against plain's
 * `docker run --rm` spawn to exit (container created, started and removed, pgbackrest restore,
 * started until promoted; its volume is made just before, untimed). The whole `dbaas restore` against plain's check +
 * docker run is printed too: dbaas also makes a cluster around the data (etcd, Patroni, HAProxy,
 * poolers) and takes its first backup, which plain does not.
 * With `--layout repository-host` the cluster keeps its backups on the repository host
 * (`--backup-to repository-host`), and plain runs the same work by hand there:
 *   B'. `docker exec <repository host> pgbackrest --config=<root's config of the stanza>
 *      --pg1-host=<leader> --pg2-host=<standby> … --backup-standby --type=full backup` (root, the
 *      data files read from the standby over TLS, as dbaas does), and the restore in `docker run
 *      --rm` on the host's network with a client certificate for the stanza's server
 *      (`--repo1-host=… --repo1-host-type=tls`), mounting nothing of the repository.
 * Prints figures and PASS/MISS (informational); exit 0, 1 if something failed, 130 if
 * interrupted. Everything created is removed. Usage: node dist/bench/backup-restore.js
 * [--runs N] [--only dbaas|plain] [--layout volume|repository-host]. The environment passes
 * through to the CLI and docker.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_DATABASE } from '../common/service-users';
import { IMAGES } from '../common/images';
import { containerName, repositoryVolumeName } from '../common/resource-names';
import { workflowIds } from '../common/workflow-ids';
import { activityTimeline } from './workflow-timeline';
import { DATA_DIR, PG_BIN, SOCKET_DIR } from '../common/render/patroni';
import { SOURCE_REPO_PATH } from '../common/restore';
import { readBackupPassphrase } from '../activities/backup-passphrase';
import { REPOSITORY_CIPHER, standbyBackupOptions } from '../common/render/pgbackrest';
import type { StanzaSummary } from '../common/backup';
import * as fs from 'node:fs';
import { exitWith, fmt, load1, median, parseRunsOptions, secs, sidesOf, type BackupLayout } from './lib';
import { resolvePaths } from '../common/paths';
import { POSTGRES_UID } from '../common/service-users';
import { repositoryClientFiles, repositoryHostName, repositoryHostNetwork, stanzaServerOf } from '../activities/repository-host/host';
import { clientTlsAt, pgHostLines, rootConfigPath } from '../activities/repository-host/render';
import {
  type LoadedSetup, abort, checkAbort, checkpointAndSize, createLoadedCluster, dbaas, echo, exec, leftovers, must, psql, runCli,
  startClusterBench, stepCollector,
} from './proc';

/** Issue 17's targets: a full backup within 1.15× of pgBackRest by hand, the restore within 1.5×. */
const BACKUP_TARGET = 1.15;
const RESTORE_TARGET = 1.5;
const PGBENCH_SCALE = 70;
/** The data volume's mount point in dbaas/postgres (DATA_DIR is a subdirectory of it). */
const DATA_MOUNT = path.posix.dirname(DATA_DIR);
const PLAIN_LABEL = 'dbaas-bench.plain';

async function backups(name: string): Promise<StanzaSummary> {
  return JSON.parse((await dbaas(['backup', 'list', name, '--json'], 'backup list')).stdout) as StanzaSummary;
}

const MB = 1_000_000;
const mbps = (bytes: number | undefined, s: number | undefined): number | undefined =>
  bytes === undefined || s === undefined || s <= 0 ? undefined : Math.round((bytes / MB / s) * 10) / 10;
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b <= 0 ? undefined : Math.round((a / b) * 100) / 100;

/**
 * A target time between two commits: a row written before it, T = the server's now(), a row
 * written after it. Recovery to T stops at the first commit after T, so that commit must exist
 * (and be archived) or PostgreSQL 15 refuses to end recovery short of its target.
 */
async function markTarget(leaderCtr: string, tag: string): Promise<string> {
  await psql(leaderCtr, 'create table if not exists bench_br_marks (tag text, at timestamptz default now())');
  await psql(leaderCtr, `insert into bench_br_marks(tag) values ('${tag} before')`);
  const t = await psql(leaderCtr, `select to_char(now() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'`);
  await new Promise((r) => setTimeout(r, 50));
  await psql(leaderCtr, `insert into bench_br_marks(tag) values ('${tag} after')`);
  return t;
}

// ---------------------------------------------------------------------------------------------
// A. dbaas and B. plain

interface BackupResult {
  seconds: number; // spawn → exit
  label?: string;
  databaseBytes?: number;
  repositoryBytes?: number;
  pgbackrestS?: number; // the backup's own start → stop, as pgbackrest info records it
  mbps?: number; // databaseBytes / seconds
}

interface DbaasResult {
  backup: BackupResult & { steps: Record<string, number>; followS?: number };
  target?: string;
  restore?: {
    seconds: number; // spawn → exit of `restore`
    followS?: number;
    steps: Record<string, number>;
    restoreStepS?: number; // "create NEW from SOURCE's backups"
    firstBackupS?: number; // "first backup of NEW"
    /** The restore helper's whole life: the child CreateCluster's restoreMemberData + removeRestoreHelper activities. */
    helperS?: number;
    deleteS?: number;
    /** The child CreateCluster's activities: seconds each, in the order they started. */
    activities: Record<string, number>;
  };
}

interface PlainResult {
  backup: BackupResult;
  target?: string;
  restore?: {
    checkS: number; // pgbackrest check on the leader (archives the current WAL)
    seconds: number; // spawn → exit of docker run --rm (container start and removal included)
    restoreCmdS?: number; // pgbackrest restore alone
    recoveryS?: number; // pg_ctl start → pg_is_in_recovery() false
    restorePromoteS?: number; // pgbackrest restore + recovery + promote, timed inside the container
  };
}

async function newBackup(name: string, before: Set<string>, seconds: number): Promise<BackupResult> {
  const after = (await backups(name)).backups.filter((b) => !before.has(b.label) && !b.error);
  const b = after[after.length - 1];
  if (!b) return { seconds };
  return {
    seconds, label: b.label, databaseBytes: b.databaseBytes, repositoryBytes: b.repositoryBytes,
    pgbackrestS: b.durationS, mbps: mbps(b.databaseBytes, seconds),
  };
}

async function runDbaas(name: string, leaderCtr: string, into: string, run: number): Promise<DbaasResult> {
  const before = new Set((await backups(name)).backups.map((b) => b.label));
  const bc = stepCollector({ [name]: '<name>' });
  const b = await runCli(['backup', 'run', name, '--type', 'full'], (l) => {
    echo('dbaas backup')(l);
    bc.onLine(l);
  });
  if (b.code !== 0) throw new Error(`dbaas backup run ${name} exited with ${b.code}`);
  const res: DbaasResult = { backup: { ...(await newBackup(name, before, secs(b.ms))), steps: bc.steps, followS: bc.done.s } };
  checkAbort();

  res.target = await markTarget(leaderCtr, `run ${run} dbaas`);
  const rc = stepCollector({ [into]: '<new>', [name]: '<name>', [res.target]: '<T>' });
  leftovers.add(`cluster ${into}`);
  const r = await runCli(['restore', name, '--into', into, '--to-time', res.target, '--replicas', '0'], (l) => {
    echo('dbaas restore')(l);
    rc.onLine(l);
  });
  const stepOf = (prefix: string): number | undefined => Object.entries(rc.steps).find(([k]) => k.startsWith(prefix))?.[1];
  res.restore = {
    seconds: secs(r.ms), followS: rc.done.s, steps: rc.steps,
    restoreStepS: stepOf('create <new> from <name>'), firstBackupS: stepOf('first backup of <new>'), activities: {},
  };
  if (r.code !== 0) throw new Error(`dbaas restore ${name} --into ${into} exited with ${r.code}`);
  const spans = await activityTimeline(workflowIds.createCluster(into)).catch(() => []);
  res.restore.activities = Object.fromEntries(spans.map((x) => [x.activity, Math.round(x.seconds * 10) / 10]));
  const helperRun = res.restore.activities.restoreMemberData;
  res.restore.helperS = helperRun === undefined ? undefined : Math.round((helperRun + (res.restore.activities.removeRestoreHelper ?? 0)) * 10) / 10;
  await checkRestored(containerName(into, 'pg-0'), `run ${run} dbaas`);
  const del = await dbaas(['cluster', 'delete', into, '--purge-backups', '--yes'], `cluster delete ${into}`, echo('dbaas delete'));
  res.restore.deleteS = secs(del.ms);
  leftovers.delete(`cluster ${into}`);
  return res;
}

/** The restored database has the row written before T and not the one after it. */
async function checkRestored(ctr: string, tag: string): Promise<void> {
  const got = await psql(ctr, `select string_agg(tag, ',' order by tag) from bench_br_marks where tag like '${tag} %'`);
  if (got !== `${tag} before`) throw new Error(`restored data is not as of the target: marks "${got}", expected "${tag} before"`);
}

/** The plain side's way to the repository: the leader's container (volume), or by hand on the repository host. */
interface PlainLayout {
  layout: BackupLayout;
  /** The standby the data files come from on the repository host (as dbaas picks it: the other member). */
  standbyCtr?: string;
  /** A directory with a client certificate for the stanza's server (owned by postgres), made in the set-up. */
  clientDir?: string;
}

/** The client certificate the plain restore presents to the stanza's server, as dbaas's restore helper does (not timed). */
async function plainClientFiles(name: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const f of await repositoryClientFiles(resolvePaths(), name, clientTlsAt('/certs/'), POSTGRES_UID)) {
    const file = path.join(dir, f.name);
    fs.writeFileSync(file, f.content, { mode: f.mode });
    fs.chownSync(file, f.uid, f.gid);
  }
}

function plainBackupCommand(name: string, leaderCtr: string, pl: PlainLayout): string[] {
  if (pl.layout === 'volume') return ['docker', 'exec', '-u', 'postgres', leaderCtr, 'pgbackrest', `--stanza=${name}`, ...standbyBackupOptions(pl.standbyCtr!), '--type=full', 'backup'];
  const hosts = pgHostLines(name, [leaderCtr, pl.standbyCtr!]).map((l) => `--${l}`);
  return ['docker', 'exec', repositoryHostName(resolvePaths()), 'pgbackrest', `--config=${rootConfigPath(name)}`, `--stanza=${name}`, ...hosts, '--backup-standby', '--type=full', 'backup'];
}

/** docker run options and the restore's repository options: the volume read-only, or the stanza's server over TLS. */
function plainRestoreAccess(name: string, pl: PlainLayout): { docker: string[]; repository: string[] } {
  if (pl.layout === 'volume') return { docker: ['-v', `${repositoryVolumeName(name)}:${SOURCE_REPO_PATH}:ro`], repository: [`--repo1-path=${SOURCE_REPO_PATH}`] };
  const paths = resolvePaths();
  const tls = clientTlsAt('/certs/');
  return {
    docker: ['--network', repositoryHostNetwork(paths), '-v', `${pl.clientDir}:/certs:ro`],
    repository: [
      `--repo1-host=${repositoryHostName(paths)}`, '--repo1-host-type=tls', `--repo1-host-port=${stanzaServerOf(paths, name)?.port ?? 0}`,
      `--repo1-host-cert-file=${tls.cert}`, `--repo1-host-key-file=${tls.key}`, `--repo1-host-ca-file=${tls.ca}`,
    ],
  };
}

async function runPlain(name: string, leaderCtr: string, id: string, run: number, pl: PlainLayout): Promise<PlainResult> {
  const before = new Set((await backups(name)).backups.map((b) => b.label));
  const [cmd, ...args] = plainBackupCommand(name, leaderCtr, pl);
  const b = await exec(cmd, args);
  if (b.code !== 0) throw new Error(`plain pgbackrest backup exited with ${b.code}: ${b.out.trim().split('\n').slice(-2).join(' / ')}`);
  const res: PlainResult = { backup: await newBackup(name, before, secs(b.ms)) };
  checkAbort();

  res.target = await markTarget(leaderCtr, `run ${run} plain`);
  // What the dbaas restore's "archive <name>'s current WAL" step does: the WAL holding the
  // commit after T reaches the repository.
  const check = await exec('docker', ['exec', '-u', 'postgres', leaderCtr, 'pgbackrest', `--stanza=${name}`, 'check']);
  if (check.code !== 0) throw new Error(`plain pgbackrest check exited with ${check.code}: ${check.out.trim()}`);
  checkAbort();

  const volume = `bench-br-${id}-plain-${run}`;
  const ctr = `bench-br-${id}-plain-${run}`;
  leftovers.add(`volume ${volume}`);
  leftovers.add(`container ${ctr}`);
  await must('docker', ['volume', 'create', '--label', PLAIN_LABEL, volume], 'docker volume create');
  const access = plainRestoreAccess(name, pl);
  const restore = [
    'pgbackrest', `--stanza=${name}`, ...access.repository, `--pg1-path=${DATA_DIR}`, '--process-max=2',
    '--type=time', `"--target=${res.target}"`, '--target-action=promote', 'restore',
  ].join(' ');
  // archive_mode off: the restored server must not push into the source's (read-only) stanza;
  // dbaas gives the new cluster its own stanza instead, which plain has no repository for.
  const script = [
    'now() { date +%s.%N; }',
    `s=$(now); ${restore} >/tmp/restore.log 2>&1 || { cat /tmp/restore.log; exit 3; }`,
    `r=$(now); ${PG_BIN}/pg_ctl -D ${DATA_DIR} -w -t 900 -o "-c archive_mode=off -c ssl=off" -l /tmp/pg.log start >/dev/null || { cat /tmp/pg.log; exit 4; }`,
    `until [ "$(psql -h ${SOCKET_DIR} -d ${DEFAULT_DATABASE} -XAtc 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.1; done`,
    'p=$(now); echo "PLAIN $s $r $p"',
    `got=$(psql -h ${SOCKET_DIR} -d ${DEFAULT_DATABASE} -XAtc "select string_agg(tag, ',' order by tag) from bench_br_marks where tag like 'run ${run} plain %'")`,
    'echo "MARKS $got"',
    `${PG_BIN}/pg_ctl -D ${DATA_DIR} -m immediate stop >/dev/null`,
  ].join('\n');
  // An encrypted repository (volume layout): the passphrase reaches pgBackRest through the docker
  // CLI's environment (`-e NAME` without a value), never on a command line.
  const passphrase = pl.layout === 'volume' ? readBackupPassphrase(resolvePaths(), name) : undefined;
  const cipher = passphrase === undefined ? [] : ['-e', `PGBACKREST_REPO1_CIPHER_TYPE=${REPOSITORY_CIPHER}`, '-e', 'PGBACKREST_REPO1_CIPHER_PASS'];
  const r = await exec('docker', ['run', '--rm', '--name', ctr, '--label', PLAIN_LABEL, '-u', 'postgres',
    ...access.docker, ...cipher, '-v', `${volume}:${DATA_MOUNT}`,
    '--entrypoint', 'sh', IMAGES.postgres, '-c', script], passphrase === undefined ? {} : { env: { ...process.env, PGBACKREST_REPO1_CIPHER_PASS: passphrase } });
  if (r.code !== 0) throw new Error(`plain restore exited with ${r.code}: ${r.out.trim().split('\n').slice(-5).join(' / ')}`);
  leftovers.delete(`container ${ctr}`);
  await exec('docker', ['volume', 'rm', volume]);
  leftovers.delete(`volume ${volume}`);
  res.restore = { checkS: secs(check.ms), seconds: secs(r.ms) };
  const m = /^PLAIN (\d+\.\d+) (\d+\.\d+) (\d+\.\d+)$/m.exec(r.stdout);
  if (m) {
    const [s, e, p] = [Number(m[1]) * 1000, Number(m[2]) * 1000, Number(m[3]) * 1000];
    Object.assign(res.restore, { restoreCmdS: secs(e - s), recoveryS: secs(p - e), restorePromoteS: secs(p - s) });
  }
  const marks = /^MARKS (.*)$/m.exec(r.stdout)?.[1];
  if (marks !== `run ${run} plain before`) throw new Error(`plain restored data is not as of the target: marks "${marks}"`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Main

interface Iteration {
  run: number; order: string; load1Before: number; load1After?: number;
  dbaas?: DbaasResult; plain?: PlainResult; error?: string;
  ratios: {
    backup?: number; // dbaas backup run / plain pgbackrest backup (spawn → exit)
    restoreHelper?: number; // dbaas restore helper (restoreMemberData) / plain docker run spawn → exit: container start in on both (headline)
    restoreCommand?: number; // whole `dbaas restore` / plain check + docker run (dbaas also makes the cluster and its first backup)
  };
}

async function main(): Promise<number> {
  const usage = 'usage: node dist/bench/backup-restore.js [--runs N] [--only dbaas|plain] [--layout volume|repository-host]';
  const opts = parseRunsOptions(usage, true, true);
  if (typeof opts === 'number') return opts;
  const { runs, only, layout } = opts;
  const { id, name, startedAt, loadStart } = await startClusterBench('bench-br');
  console.log(`bench backup-restore: ${runs} run(s)${only ? `, ${only} only` : ''}, layout ${layout}, cluster ${name}, ${os.cpus().length} cpus, ` +
    `load ${loadStart}, TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS ?? '(default)'}`);

  const iterations: Iteration[] = [];
  const setup: LoadedSetup = {};
  let failed = false;
  try {
    // Set-up (not timed)
    const leaderCtr = await createLoadedCluster(name, PGBENCH_SCALE, setup, ['--backup-to', layout === 'repository-host' ? 'repository-host' : 'volume']);
    // dbaas reads the data files from the standby (backup-standby): so does the plain backup, the same work.
    const plainLayout: PlainLayout = { layout, standbyCtr: containerName(name, setup.leader === 'pg-0' ? 'pg-1' : 'pg-0') };
    if (layout === 'repository-host') {
      plainLayout.clientDir = path.join(os.tmpdir(), `bench-br-${id}-certs`);
      await plainClientFiles(name, plainLayout.clientDir);
    }
    checkAbort();
    const [size, bytes] = await checkpointAndSize(leaderCtr, setup);
    console.log(`set-up: database ${DEFAULT_DATABASE} is ${size} (${bytes} bytes), pgbench -i ${fmt(setup.pgbenchS)} s, leader ${setup.leader}`);

    for (let i = 1; i <= runs && !abort.signal.aborted; i++) {
      const sides = sidesOf(i, only);
      const it: Iteration = { run: i, order: sides.join(','), load1Before: load1(), ratios: {} };
      iterations.push(it);
      console.log(`\nrun ${i}/${runs} (${it.order}), load1 ${it.load1Before}`);
      try {
        for (const side of sides) {
          checkAbort();
          if (side === 'dbaas') {
            it.dbaas = await runDbaas(name, leaderCtr, `${name}-r${i}`, i);
            const d = it.dbaas;
            console.log(`  dbaas backup: ${fmt(d.backup.seconds)} s, ${fmt(d.backup.mbps)} MB/s (${d.backup.label}, pgbackrest ${fmt(d.backup.pgbackrestS)} s, ` +
              `following the workflow ${fmt(d.backup.followS)} s)`);
            console.log(`  dbaas restore: ${fmt(d.restore?.seconds)} s (restore step ${fmt(d.restore?.restoreStepS)} s, ` +
              `first backup of the new cluster ${fmt(d.restore?.firstBackupS)} s; to ${d.target}; delete ${fmt(d.restore?.deleteS)} s)`);
            const acts = Object.entries(d.restore?.activities ?? {}).filter(([, v]) => v >= 0.3);
            console.log(`  dbaas create-cluster child, activities ≥ 0.3 s: ${acts.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
          } else {
            it.plain = await runPlain(name, leaderCtr, id, i, plainLayout);
            const p = it.plain;
            console.log(`  plain backup: ${fmt(p.backup.seconds)} s, ${fmt(p.backup.mbps)} MB/s (${p.backup.label}, pgbackrest ${fmt(p.backup.pgbackrestS)} s)`);
            console.log(`  plain restore: docker run ${fmt(p.restore?.seconds)} s (pgbackrest restore ${fmt(p.restore?.restoreCmdS)} s, ` +
              `recovery+promote ${fmt(p.restore?.recoveryS)} s, together ${fmt(p.restore?.restorePromoteS)} s; check before it ${fmt(p.restore?.checkS)} s; to ${p.target})`);
          }
        }
        const d = it.dbaas;
        const p = it.plain;
        it.ratios = {
          backup: ratio(d?.backup.seconds, p?.backup.seconds),
          restoreHelper: ratio(d?.restore?.helperS, p?.restore?.seconds),
          restoreCommand: ratio(d?.restore?.seconds, p?.restore ? p.restore.checkS + p.restore.seconds : undefined),
        };
      } catch (err) {
        failed = true;
        it.error = (err as Error).message;
        console.error(`  run ${i} failed: ${it.error}`);
      } finally {
        it.load1After = load1();
        console.log(`  load1 after: ${it.load1After}`);
        await cleanup(name, false);
      }
    }
  } catch (err) {
    failed = true;
    console.error(`bench backup-restore: ${(err as Error).message}`);
  } finally {
    await cleanup(name, true);
    fs.rmSync(path.join(os.tmpdir(), `bench-br-${id}-certs`), { recursive: true, force: true });
  }

  // Summary
  const ok = iterations.filter((x) => !x.error);
  const m = (f: (x: Iteration) => number | undefined): number | undefined => median(ok.map(f));
  const med = {
    dbaasBackupS: m((x) => x.dbaas?.backup.seconds),
    plainBackupS: m((x) => x.plain?.backup.seconds),
    dbaasBackupMBps: m((x) => x.dbaas?.backup.mbps),
    dbaasBackupCliS: m((x) => (x.dbaas?.backup.followS === undefined ? undefined : x.dbaas.backup.seconds - x.dbaas.backup.followS)),
    dbaasRestoreCliS: m((x) => (x.dbaas?.restore?.followS === undefined ? undefined : x.dbaas.restore.seconds - x.dbaas.restore.followS)),
    dbaasBackupPgbackrestS: m((x) => x.dbaas?.backup.pgbackrestS),
    plainBackupPgbackrestS: m((x) => x.plain?.backup.pgbackrestS),
    plainBackupMBps: m((x) => x.plain?.backup.mbps),
    dbaasRestoreS: m((x) => x.dbaas?.restore?.seconds),
    dbaasRestoreStepS: m((x) => x.dbaas?.restore?.restoreStepS),
    dbaasRestoreHelperS: m((x) => x.dbaas?.restore?.helperS),
    dbaasFirstBackupS: m((x) => x.dbaas?.restore?.firstBackupS),
    plainCheckS: m((x) => x.plain?.restore?.checkS),
    plainRestoreCmdS: m((x) => x.plain?.restore?.restoreCmdS),
    plainRestorePromoteS: m((x) => x.plain?.restore?.restorePromoteS),
    plainDockerRunS: m((x) => x.plain?.restore?.seconds),
    ratioBackup: m((x) => x.ratios.backup),
    ratioRestoreHelper: m((x) => x.ratios.restoreHelper),
    ratioRestoreCommand: m((x) => x.ratios.restoreCommand),
  };
  console.log(`\ndatabase ${setup.dbSize ?? '-'} (${setup.dbBytes ?? '-'} bytes); load at start ${loadStart}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('backup (full):');
  console.log('run  order         dbaas s  MB/s   plain s  MB/s   ratio | load1 before/after');
  for (const x of iterations) {
    const row = x.error ? `ERROR: ${x.error}` : `${fmt(x.dbaas?.backup.seconds).padStart(7)}  ${fmt(x.dbaas?.backup.mbps).padStart(5)}  ` +
      `${fmt(x.plain?.backup.seconds).padStart(7)}  ${fmt(x.plain?.backup.mbps).padStart(5)}  ${fmt(x.ratios.backup, 2).padStart(5)} | ${x.load1Before}/${x.load1After ?? '-'}`;
    console.log(`${String(x.run).padEnd(4)} ${x.order.padEnd(12)} ${row}`);
  }
  console.log(`${'median'.padEnd(17)} ${fmt(med.dbaasBackupS).padStart(7)}  ${fmt(med.dbaasBackupMBps).padStart(5)}  ` +
    `${fmt(med.plainBackupS).padStart(7)}  ${fmt(med.plainBackupMBps).padStart(5)}  ${fmt(med.ratioBackup, 2).padStart(5)} |`);
  console.log('\nPITR restore: dbaas `restore` (whole, create-from-backups step, restore helper, first backup) | ' +
    'plain (check, pgbackrest restore, +recovery+promote, docker run) | ratios helper/docker-run (same boundaries: container start in), whole/(check+docker-run)');
  for (const x of iterations) {
    if (x.error) continue;
    const d = x.dbaas?.restore;
    const p = x.plain?.restore;
    console.log(`${String(x.run).padEnd(4)} dbaas ${fmt(d?.seconds)} / ${fmt(d?.restoreStepS)} / ${fmt(d?.helperS)} / ${fmt(d?.firstBackupS)} | ` +
      `plain ${fmt(p?.checkS)} / ${fmt(p?.restoreCmdS)} / ${fmt(p?.restorePromoteS)} / ${fmt(p?.seconds)} | ` +
      `${fmt(x.ratios.restoreHelper, 2)}, ${fmt(x.ratios.restoreCommand, 2)}`);
  }
  console.log(`median dbaas ${fmt(med.dbaasRestoreS)} / ${fmt(med.dbaasRestoreStepS)} / ${fmt(med.dbaasRestoreHelperS)} / ${fmt(med.dbaasFirstBackupS)} | ` +
    `plain ${fmt(med.plainCheckS)} / ${fmt(med.plainRestoreCmdS)} / ${fmt(med.plainRestorePromoteS)} / ${fmt(med.plainDockerRunS)} | ` +
    `${fmt(med.ratioRestoreHelper, 2)}, ${fmt(med.ratioRestoreCommand, 2)}`);

  for (const [what, key] of [['backup run', 'backup'], ['restore', 'restore']] as const) {
    const all = ok.map((x) => (key === 'backup' ? x.dbaas?.backup.steps : x.dbaas?.restore?.steps)).filter((s): s is Record<string, number> => !!s);
    const names = [...new Set(all.flatMap((s) => Object.keys(s)))];
    if (names.length === 0) continue;
    console.log(`\ndbaas ${what} steps, median s (as the CLI prints them):`);
    for (const s of names) console.log(`  ${fmt(median(all.map((x) => x[s]))).padStart(6)}  ${s}`);
  }
  console.log(`CLI start, Docker/Temporal connect, workflow start (process time − "done in"), median s: backup run ${fmt(med.dbaasBackupCliS)}, ` +
    `restore ${fmt(med.dbaasRestoreCliS)}; pgbackrest's own backup duration (whole seconds), median: dbaas ${fmt(med.dbaasBackupPgbackrestS)}, ` +
    `plain ${fmt(med.plainBackupPgbackrestS)}`);
  const activityNames = [...new Set(ok.flatMap((x) => Object.keys(x.dbaas?.restore?.activities ?? {})))];
  if (activityNames.length > 0) {
    console.log('dbaas create-cluster child (the restore step), median s per activity (some run in parallel):');
    for (const a of activityNames) console.log(`  ${fmt(m((x) => x.dbaas?.restore?.activities[a])).padStart(6)}  ${a}`);
  }

  const verdict = (v: number | undefined, limit: number): string => (v === undefined ? 'n/a' : v <= limit ? 'PASS' : 'MISS');
  const target = {
    backup: { ratio: BACKUP_TARGET, value: med.ratioBackup, result: verdict(med.ratioBackup, BACKUP_TARGET) },
    restore: { ratio: RESTORE_TARGET, value: med.ratioRestoreHelper, result: verdict(med.ratioRestoreHelper, RESTORE_TARGET) },
  };
  console.log(`\ntargets (informational): backup ≤ ${BACKUP_TARGET} ${target.backup.result} (median ${fmt(med.ratioBackup, 2)}), ` +
    `restore ≤ ${RESTORE_TARGET} ${target.restore.result} (median ${fmt(med.ratioRestoreHelper, 2)}: dbaas's restore helper against plain's docker run, container start in on both; ` +
    `the whole command against plain check+docker run, not the same work: ${fmt(med.ratioRestoreCommand, 2)})`);
  console.log(`BENCH_JSON ${JSON.stringify({
    bench: 'backup-restore', runs, only: only ?? null, layout, cpus: os.cpus().length, cluster: name, startedAt, loadStart, loadEnd: os.loadavg(),
    setup, iterations, median: med, target, interrupted: abort.signal.aborted,
  })}`);
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

/** Remove what the runs left (plain containers and volumes, restored clusters); with `all`, the cluster too. */
async function cleanup(name: string, all: boolean): Promise<void> {
  for (const l of [...leftovers]) {
    const [kind, what] = l.split(' ');
    if (kind === 'container') {
      await exec('docker', ['rm', '-f', what]);
      leftovers.delete(l);
    }
  }
  for (const l of [...leftovers]) {
    const [kind, what] = l.split(' ');
    if (kind === 'volume') {
      if ((await exec('docker', ['volume', 'rm', '-f', what])).code === 0) leftovers.delete(l);
    } else if (kind === 'cluster' && (all || what !== name)) {
      console.log(`cleanup: cluster delete ${what}`);
      const del = await runCli(['cluster', 'delete', what, '--purge-backups', '--yes'], echo('delete'));
      // Exit 2 "no cluster named": a failed create already compensated.
      if (del.code === 0 || del.code === 2) leftovers.delete(l);
      else process.stderr.write(`warning: cluster delete ${what} exited with ${del.code}\n`);
    }
  }
  if (all && leftovers.size > 0) process.stderr.write(`warning: possibly left: ${[...leftovers].join(', ')}\n`);
}

exitWith('backup-restore', main());
