/**
 * bench/failover: seconds from SIGKILL of the leader container (`docker kill -s KILL`) until a
 * write through the HAProxy rw host port succeeds again, for a dbaas cluster and for a plain
 * Patroni cluster started by hand with the same settings, in the same run, per profile.
 *
 * A continuous writer (3 staggered connections, each a row every ~50 ms, a fresh connection 100 ms after any
 * failure, 1 s connect and query timeouts) runs before, during and after the kill. The figure is
 * from issuing `docker kill` to the commit of the first write that *started* after `docker kill`
 * returned (so it cannot have reached the old leader). After each run the killed container is
 * started again with `docker start` (Docker does not restart a container stopped by `docker
 * kill`, whatever its restart policy) and the next run waits until it is back as a streaming
 * replica and HAProxy rw/ro are UP.
 *
 * A benchmark, not a test: figures, ratios, PASS/MISS against the target (informational).
 *   node dist/bench/failover.js [--runs N] [--profile default|fast] [--only dbaas|plain]
 */
import { secs } from './lib';
import {
  docker, now, run, runHaBench, watchTakeover, Writer, type HaCluster, type MeasureContext, type Measurement,
} from './ha-lib';
import { PROFILES, type ProfileName } from '../common/spec';

const TARGET_FAST_S = 12;
/** Writes before the kill, so the writer is known to work. */
const BASELINE_MS = 1500;
/** After the first write on the new leader, keep writing a little (to see it stays up). */
const TAIL_MS = 500;

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
    await docker(['kill', '-s', 'KILL', leaderCtr]);
    killed = true;
    const tKilled = now();
    // The killed member's API no longer answers; ask the survivors only.
    const survivors = new Map(ips);
    survivors.delete(ctx.leader);
    const watch = watchTakeover(c, ctx.leader, t0, survivors);
    const deadline = t0 + (3 * ttl + 60) * 1000;
    let first = writer.firstStartedAfter(tKilled);
    while (!first && now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      first = writer.firstStartedAfter(tKilled);
    }
    await new Promise((r) => setTimeout(r, TAIL_MS));
    const takeover = await watch.stop();
    if (!first) throw new Error(`no write through rw within ${secs(deadline - t0)} s of the kill (last error: ${writer.lastError ?? '-'})`);
    const before = writer.lastEndedBefore(t0);
    const state = (await run('docker', ['inspect', '-f', '{{.State.Status}} restarts={{.RestartCount}}', leaderCtr])).stdout.trim();
    return {
      figures: {
        seconds: secs(first.end - t0),
        gap: before ? secs(first.end - before.end) : undefined,
        kill: secs(tKilled - t0),
        promoted: takeover.promotedS,
        haproxyUp: takeover.haproxyUpS,
      },
      note: `killed ${ctx.leader}, new leader ${takeover.newLeader ?? '?'}, ${writer.failures} failed attempts, ` +
        `killed container after the run: ${state}`,
      details: [...takeover.events, ...writer.errorSummary(t0).map((e) => `writer ${e}`), `${secs(first.end - t0)} first write`],
    };
  } finally {
    await writer.stop();
    // Bring the old leader back (not timed); the next run waits until it streams again.
    if (killed) await docker(['start', leaderCtr]).catch((err: unknown) => process.stderr.write(`    warning: docker start ${leaderCtr}: ${(err as Error).message}\n`));
  }
}

runHaBench({
  bench: 'failover',
  short: 'fo',
  headline: 'seconds',
  columns: [
    ['seconds', 'kill→write'],
    ['gap', 'write gap'],
    ['promoted', 'promoted'],
    ['haproxyUp', 'rw UP'],
  ],
  target: (profile: ProfileName) => (profile === 'fast' ? { seconds: TARGET_FAST_S, text: `fast failover (kill→write, dbaas median) ≤ ${TARGET_FAST_S} s` } : undefined),
  describe: () =>
    'kill→write: from `docker kill -s KILL <leader>` to the commit of the first write through rw that started after the kill returned.\n' +
    'write gap: from the last write acknowledged before the kill to that write. promoted / rw UP: when a survivor\'s /cluster\n' +
    'first shows a new running leader, and when HAProxy stats first show it UP on rw (diagnostics, polled every ~200 ms).',
  measure,
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench failover: ${(err as Error).message}`);
    process.exit(1);
  },
);
