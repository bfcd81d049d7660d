/**
 * The dbaas sides of bench/upgrade: a loaded 15 cluster, then `dbaas upgrade NAME --to 17` by
 * blue-green or in place while two writers insert (one through pooled rw, one through rw), and
 * what each writer saw. Everything not timed is set-up: the create, pgbench, the writers'
 * table, and after a blue-green cutover `upgrade finish` (timed, but not downtime).
 */
import { DEFAULT_DATABASE } from '../common/service-users';
import {
  type Exec, type LoadedSetup, checkAbort, checkpointAndSize, createLoadedCluster, dbaas, echo, leftovers, now, pause, psql, runCli, stepCollector,
} from './proc';
import { TickWriter, countTicks, createTicksTable, type WriterFigures } from './upgrade-writer';

export type Method = 'blue-green' | 'in-place';

/** pgbench -i makes it without a primary key (and leaves it empty): blue-green refuses such a table, so every side drops it. */
export const PGBENCH_NO_KEY_TABLE = 'pgbench_history';
/** Writes before the upgrade starts and after it returns, so each writer's longest gap has writes on both sides. */
const SETTLE_MS = 2000;

export interface LoadedCluster {
  name: string;
  leaderCtr: string;
  setup: LoadedSetup;
  /** `dbaas connect NAME [--pooled]`: the app role on the app database, TLS (never printed: they hold the password). */
  rwUri: string;
  pooledUri: string;
}

/** Set-up, not timed: `cluster create NAME --version 15 --replicas 1`, pgbench -i -s `scale` on the leader, the table without a key dropped, the writers' table. */
export async function createUpgradeCluster(name: string, scale: number): Promise<LoadedCluster> {
  const setup: LoadedSetup = {};
  const leaderCtr = await createLoadedCluster(name, scale, setup);
  checkAbort();
  await psql(leaderCtr, `drop table ${PGBENCH_NO_KEY_TABLE}`);
  const [size] = await checkpointAndSize(leaderCtr, setup);
  const rwUri = (await dbaas(['connect', name], 'connect')).stdout.trim();
  const pooledUri = (await dbaas(['connect', name, '--pooled'], 'connect --pooled')).stdout.trim();
  await createTicksTable(pooledUri);
  console.log(`set-up: ${name}: database ${DEFAULT_DATABASE} ${size}, pgbench -i ${setup.pgbenchS?.toFixed(1)} s, leader ${setup.leader}`);
  return { name, leaderCtr, setup, rwUri, pooledUri };
}

export interface UpgradeRun {
  method: Method;
  /** Spawn to exit of `dbaas upgrade` (blue-green: up to the cutover's end; the run then waits for finish). */
  wallS: number;
  /** The CLI's ✓ step lines, in order, the cluster's name replaced by <name>. */
  steps: Record<string, number>;
  pooled: WriterFigures;
  rw: WriterFigures;
  /** Acknowledged writes (of both writers) not found on 17 afterwards. */
  lost?: number;
  /** Blue-green: the workflow's own pause (poolers' pause to resume), from `upgrade status --json`. */
  writePauseS?: number;
  /** Blue-green: spawn to exit of `upgrade finish`. */
  finishS?: number;
  /** In place: the steps from the leader's stop to it leading on 17, summed (the CLI's view of the offline part). */
  offlineStepsS?: number;
}

/** `dbaas upgrade` under the two writers; times relative to its spawn. */
async function underWriters(c: LoadedCluster, args: string[], tag: string): Promise<{ r: Exec; steps: Record<string, number>; pooled: TickWriter; rw: TickWriter; t0: number }> {
  const pooled = new TickWriter(c.pooledUri);
  const rw = new TickWriter(c.rwUri);
  pooled.start();
  rw.start();
  let t0 = now();
  try {
    await pause(SETTLE_MS);
    const sc = stepCollector({ [c.name]: '<name>' });
    t0 = now();
    const r = await runCli(args, (l) => {
      echo(tag)(l);
      sc.onLine(l);
    });
    await pause(SETTLE_MS);
    return { r, steps: sc.steps, pooled, rw, t0 };
  } finally {
    await Promise.all([pooled.stop(), rw.stop()]);
  }
}

async function lostWrites(uri: string, writers: TickWriter[]): Promise<number> {
  const ids = writers.flatMap((w) => w.acks.map((a) => a.id));
  return ids.length - (await countTicks(uri, ids));
}

export async function blueGreen(c: LoadedCluster): Promise<UpgradeRun> {
  const u = await underWriters(c, ['upgrade', c.name, '--to', '17'], 'upgrade blue-green');
  if (u.r.code !== 0) throw new Error(`dbaas upgrade ${c.name} (blue-green) exited with ${u.r.code}: ${u.r.out.trim().split('\n').slice(-2).join(' / ')}`);
  const res: UpgradeRun = { method: 'blue-green', wallS: u.r.ms / 1000, steps: u.steps, pooled: u.pooled.figures(u.t0), rw: u.rw.figures(u.t0) };
  const st = JSON.parse((await dbaas(['upgrade', 'status', c.name, '--json'], 'upgrade status')).stdout) as { upgrade: { writePauseMs: number | null } | null };
  const pauseMs = st.upgrade?.writePauseMs;
  if (pauseMs != null) res.writePauseS = pauseMs / 1000;
  res.lost = await lostWrites(c.pooledUri, [u.pooled, u.rw]);
  const f = await dbaas(['upgrade', 'finish', c.name], 'upgrade finish', echo('upgrade finish'));
  res.finishS = f.ms / 1000;
  return res;
}

export async function inPlace(c: LoadedCluster): Promise<UpgradeRun> {
  const u = await underWriters(c, ['upgrade', c.name, '--to', '17', '--method', 'in-place'], 'upgrade in-place');
  if (u.r.code !== 0) throw new Error(`dbaas upgrade ${c.name} --method in-place exited with ${u.r.code}: ${u.r.out.trim().split('\n').slice(-2).join(' / ')}`);
  const names = Object.keys(u.steps);
  const from = names.findIndex((k) => /^stop \S+ \(the leader/.test(k));
  const to = names.findIndex((k) => /^wait for \S+ to lead$/.test(k));
  const offline = from >= 0 && to >= from ? names.slice(from, to + 1).reduce((s, k) => s + u.steps[k]!, 0) : undefined;
  return {
    method: 'in-place', wallS: u.r.ms / 1000, steps: u.steps, pooled: u.pooled.figures(u.t0), rw: u.rw.figures(u.t0),
    lost: await lostWrites(c.rwUri, [u.pooled, u.rw]), offlineStepsS: offline === undefined ? undefined : Math.round(offline * 10) / 10,
  };
}

/**
 * Cleanup of a cluster the bench made (a leftover "cluster NAME" until then): a blue-green run
 * still holding the lease is ended first (finish once it waits for the decision, otherwise a
 * rollback), so the delete does not queue behind it.
 */
export async function deleteUpgradeCluster(name: string): Promise<void> {
  const st = await runCli(['upgrade', 'status', name, '--json']);
  if (st.code === 0) {
    const u = (JSON.parse(st.stdout) as { upgrade: { method: string; state: string; awaitingDecision: boolean | null } | null }).upgrade;
    if (u?.method === 'blue-green' && u.state === 'RUNNING') {
      const args = u.awaitingDecision ? ['upgrade', 'finish', name] : ['upgrade', 'rollback', name, '--discard-writes'];
      console.log(`cleanup: ${args.join(' ')}`);
      await runCli(args, echo('cleanup'));
    }
  }
  console.log(`cleanup: cluster delete ${name}`);
  const del = await runCli(['cluster', 'delete', name, '--purge-backups', '--yes'], echo('delete'));
  // Exit 2 "no cluster named": a failed create already compensated.
  if (del.code === 0 || del.code === 2) leftovers.delete(`cluster ${name}`);
  else process.stderr.write(`warning: cluster delete ${name} exited with ${del.code}\n`);
}
