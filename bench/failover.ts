/**
 * bench/failover: seconds from SIGKILL of the leader container (`docker kill -s KILL`) until a
 * write through the HAProxy rw host port succeeds again, for a dbaas cluster and for a plain
 * Patroni cluster started by hand with the same settings, in the same run, per profile.
 *
 * A continuous writer (3 connections, each a row every ~50 ms, a fresh connection 100 ms after any
 * failure, 1 s connect and query timeouts; plus a one-shot connection every 100 ms) runs before, during and after the kill. The figure is
 * from `docker kill` returning (it returns once the container has exited) to the commit of the
 * first write that started after that (so it cannot have reached the old leader). After each run the killed container is
 * started again with `docker start` (Docker does not restart a container stopped by `docker
 * kill`, whatever its restart policy) and the next run waits until it is back as a streaming
 * replica and HAProxy rw/ro are UP.
 *
 * A benchmark, not a test: figures, ratios, PASS/MISS against the target (informational).
 *   node dist/bench/failover.js [--runs N] [--profile default|fast] [--only dbaas|plain]
 *   node dist/bench/failover.js --hosts 3 [--runs N]   (a lost host against a killed member: failover-hosts.ts)
 */
import { exitWith, secs } from './lib';
import { runHaBench, type MeasureContext, type Measurement } from './ha-driver';
import { watchTakeover, type HaCluster } from './ha-lib';
import { docker, now, run } from './proc';
import { Writer } from './ha-writer';
import { runFailoverHosts } from './failover-hosts';
import { PROFILES, type ProfileName } from '../common/spec';

const TARGET_FAST_S = 12;
/** Writes before the kill, so the writer is known to work. */
const BASELINE_MS = 1500;
/** After the first write on the new leader, keep writing a little (to see it stays up). */
const TAIL_MS = 500;

/**
 * Seconds the old leader's lock still had to live at the kill: ttl minus the time since its last
 * HA cycle as leader ("the leader with the lock" in its log; the cycle refreshes the lock just
 * before it logs). A survivor can take over only after that, so this splits kill→write into the
 * wait for the lock to expire (random, 0 to loop_wait less than ttl) and the reaction after it.
 */
async function leaderLeaseLeft(ctr: string, killWall: number, ttl: number): Promise<number | undefined> {
  const since = new Date(killWall - (ttl + 15) * 1000).toISOString();
  const r = await run('docker', ['logs', '-t', '--since', since, ctr]);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /the leader with the lock/.test(l));
  const times = lines.map((l) => Date.parse(l.slice(0, l.indexOf(' ')))).filter((t) => Number.isFinite(t) && t <= killWall);
  if (times.length === 0) return undefined;
  return secs(ttl * 1000 - (killWall - Math.max(...times)));
}

async function measure(c: HaCluster, ctx: MeasureContext): Promise<Measurement> {
  const ips = await c.ips();
  const ttl = PROFILES[ctx.profile].patroni.ttl;
  const writer = new Writer(c, `failover-${ctx.run}`);
  writer.start();
  const leaderCtr = c.container(ctx.leader);
  let killed = false;
  try {
    await new Promise((r) => setTimeout(r, BASELINE_MS));
    if (writer.oks.length === 0) throw new Error(`no write through rw succeeded before the kill (${writer.lastError ?? 'no error'})`);
    const t0 = now();
    const killWall = Date.now();
    await docker(['kill', '-s', 'KILL', leaderCtr]);
    killed = true;
    const tKilled = now();
    // The killed member's API no longer answers; ask the survivors only.
    const survivors = new Map(ips);
    survivors.delete(ctx.leader);
    const watch = watchTakeover(c, ctx.leader, tKilled, survivors);
    const deadline = tKilled + (3 * ttl + 60) * 1000;
    let first = writer.firstStartedAfter(tKilled);
    while (!first && now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      first = writer.firstStartedAfter(tKilled);
    }
    await new Promise((r) => setTimeout(r, TAIL_MS));
    const takeover = await watch.stop();
    if (!first) throw new Error(`no write through rw within ${secs(deadline - tKilled)} s of the kill (last error: ${writer.lastError ?? '-'})`);
    const before = writer.lastEndedBefore(t0);
    const first0 = writer.firstOfConnAfter(tKilled, 0);
    const leaseLeft = await leaderLeaseLeft(leaderCtr, killWall + (tKilled - t0), ttl);
    const state = (await run('docker', ['inspect', '-f', '{{.State.Status}} restarts={{.RestartCount}}', leaderCtr])).stdout.trim();
    return {
      figures: {
        seconds: secs(first.end - tKilled),
        oneConn: first0 ? secs(first0.end - tKilled) : undefined,
        gap: before ? secs(first.end - before.end) : undefined,
        kill: secs(tKilled - t0),
        leaseLeft,
        afterLock: leaseLeft === undefined ? undefined : Math.round((first.end - tKilled) - leaseLeft * 1000) / 1000,
        promoted: takeover.promotedS,
        haproxyUp: takeover.haproxyUpS,
      },
      note: `killed ${ctx.leader}, new leader ${takeover.newLeader ?? '?'}, ${writer.failures} failed attempts, ` +
        `killed container after the run: ${state}`,
      details: [...takeover.events, ...writer.errorSummary(tKilled).map((e) => `writer ${e}`), `${secs(first.end - tKilled)} first write`],
    };
  } finally {
    await writer.stop();
    // Bring the old leader back (not timed); the next run waits until it streams again.
    if (killed) await docker(['start', leaderCtr]).catch((err: unknown) => process.stderr.write(`    warning: docker start ${leaderCtr}: ${(err as Error).message}\n`));
  }
}

if (process.argv.some((a) => a === '--hosts' || a.startsWith('--hosts='))) runFailoverHosts();
else exitWith('failover', runHaBench({
  bench: 'failover',
  short: 'fo',
  headline: 'seconds',
  columns: [
    ['seconds', 'kill→write'],
    ['oneConn', '1-conn'],
    ['leaseLeft', 'lock left'],
    ['afterLock', 'after lock'],
    ['kill', 'docker kill'],
    ['promoted', 'promoted'],
    ['haproxyUp', 'rw UP'],
  ],
  target: (profile: ProfileName) => (profile === 'fast' ? { seconds: TARGET_FAST_S, text: `fast failover (kill→write, dbaas median) ≤ ${TARGET_FAST_S} s` } : undefined),
  describe: () => [
    'kill→write: from `docker kill -s KILL <leader>` returning (the container has exited) to the commit of the first write through',
    'rw that started after it (3 writing connections plus a fresh connection every 100 ms). 1-conn: the same for the writer\'s first',
    'connection alone (1 s timeouts, reconnects 100 ms after a failure). lock left: ttl minus the time since the old leader\'s last',
    'HA cycle (its log) at the kill, i.e. when its lock expires. after lock: kill→write minus lock left, the part that does not',
    'depend on where in the leader\'s loop the kill landed. docker kill: how long that command took (mostly CLI start-up, before',
    'the signal). promoted / rw UP: a survivor\'s /cluster first shows a new running leader / HAProxy stats first show it UP on rw.',
  ].join('\n'),
  measure,
}));
