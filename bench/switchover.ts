/**
 * bench/switchover: the write downtime of a planned switchover, seen through the HAProxy rw host
 * port, for a dbaas cluster and for a plain Patroni cluster started by hand with the same
 * settings, in the same run, per profile.
 *
 * A continuous writer (3 connections, each a row every ~50 ms, a fresh connection 100 ms after any
 * failure, 1 s connect and query timeouts; plus a one-shot connection every 100 ms) runs before, during and after the switchover. The
 * request is `dbaas switchover <name> --to <member>` (dbaas, `--via cli`) or Patroni's own
 * `POST /switchover {"leader","candidate"}` to the leader (plain always; dbaas with `--via api`).
 * Each run switches to the other replica in turn. Figures, all from the moment of the request:
 *   downtime      the longest gap between two acknowledged writes (the headline, target ≤ 2 s);
 *   to new leader until the first acknowledged write that the new leader took
 *                 (inet_server_addr), i.e. "writes succeed again";
 *   request       until the request returned (CLI exit, or the HTTP 200).
 *
 * A benchmark, not a test: figures, ratios, PASS/MISS against the target (informational).
 *   node dist/bench/switchover.js [--runs N] [--profile default|fast] [--only dbaas|plain] [--via auto|cli|api]
 */
import { exitWith, secs } from './lib';
import { runHaBench, type MeasureContext, type Measurement } from './ha-driver';
import { cliMust, patroniSwitchover, watchTakeover, type HaCluster } from './ha-lib';
import { cli, now } from './proc';
import { Writer } from './ha-writer';

const TARGET_DOWNTIME_S = 2;
const BASELINE_MS = 1500;
/** After the first write on the new leader, keep writing so a late second gap would show. */
const TAIL_MS = 1500;
const REQUEST_TIMEOUT_MS = 120_000;

/** Whether this checkout's CLI has `switchover NAME --to MEMBER` (being written on h-switchover). */
async function cliHasSwitchover(): Promise<boolean> {
  let out = '';
  const { exited } = cli(['switchover', '--help'], (l) => {
    out += `${l}\n`;
  });
  return (await exited) === 0 && out.includes('--to');
}

let via: 'cli' | 'api' = 'api';

async function measure(c: HaCluster, ctx: MeasureContext): Promise<Measurement> {
  const ips = await c.ips();
  const replicas = c.members.filter((m) => m !== ctx.leader);
  const candidate = replicas[(ctx.run - 1) % replicas.length];
  const candidateIp = ips.get(candidate);
  if (!candidateIp) throw new Error(`no IP for ${candidate}`);
  const how = c.side === 'dbaas' && via === 'cli' ? 'cli' : 'api';
  const writer = new Writer(c, `switchover-${ctx.run}`);
  writer.start();
  try {
    await new Promise((r) => setTimeout(r, BASELINE_MS));
    if (writer.oks.length === 0) throw new Error(`no write through rw succeeded before the switchover (${writer.lastError ?? 'no error'})`);
    const t0 = now();
    const watch = watchTakeover(c, ctx.leader, t0, ips);
    try {
      if (how === 'cli') await cliMust(['switchover', c.name, '--to', candidate], 'dbaas switchover', REQUEST_TIMEOUT_MS);
      else await patroniSwitchover(c, ctx.leader, candidate, ips);
    } catch (err) {
      await watch.stop();
      throw err;
    }
    const tReturned = now();
    const onNew = (w: { addr: string }): boolean => w.addr === candidateIp;
    const deadline = tReturned + 60_000;
    let first = writer.firstStartedAfter(t0, onNew);
    while (!first && now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      first = writer.firstStartedAfter(t0, onNew);
    }
    await new Promise((r) => setTimeout(r, TAIL_MS));
    const takeover = await watch.stop();
    if (!first) throw new Error(`no write reached ${candidate} within 60 s of the switchover returning (last error: ${writer.lastError ?? '-'})`);
    const gap = writer.maxGapAfter(t0);
    const gap1 = writer.maxGapAfter(t0, 0);
    return {
      figures: {
        downtime: gap ? secs(gap.gap) : undefined,
        toNewLeader: secs(first.end - t0),
        request: secs(tReturned - t0),
        gapStart: gap ? secs(gap.from - t0) : undefined,
        downtime1: gap1 ? secs(gap1.gap) : undefined,
        haproxyUp: takeover.haproxyUpS,
      },
      note: `${ctx.leader} → ${candidate} via ${how === 'cli' ? '`dbaas switchover`' : 'POST /switchover'}, ${writer.failures} failed attempts` +
        (writer.lastError ? ` (last: ${writer.lastError})` : ''),
      details: [
        ...takeover.events, ...writer.errorSummary(t0).map((e) => `writer ${e}`),
        ...(gap ? [`${secs(gap.from - t0)}–${secs(gap.to - t0)} longest gap`] : []),
        `${secs(first.end - t0)} first write on ${candidate}`, `${secs(tReturned - t0)} request returned`,
      ],
    };
  } finally {
    await writer.stop();
  }
}

exitWith('switchover', runHaBench({
  bench: 'switchover',
  short: 'so',
  headline: 'downtime',
  columns: [
    ['downtime', 'downtime'],
    ['toNewLeader', 'to new leader'],
    ['request', 'request'],
    ['gapStart', 'gap from'],
    ['downtime1', '1-conn gap'],
    ['haproxyUp', 'rw UP'],
  ],
  target: () => ({ seconds: TARGET_DOWNTIME_S, text: `switchover write downtime (dbaas median) ≤ ${TARGET_DOWNTIME_S} s` }),
  extraOptions: { via: { default: 'auto', help: 'auto|cli|api' } },
  async validate(extra) {
    const v = extra.via;
    if (v !== 'auto' && v !== 'cli' && v !== 'api') return '--via must be auto, cli or api';
    const has = v === 'api' ? false : await cliHasSwitchover();
    if (v === 'cli' && !has) return '--via cli: this checkout\'s CLI has no `switchover NAME --to MEMBER` (build it, or use --via api)';
    via = v === 'api' || !has ? 'api' : 'cli';
    extra.via = via;
    return undefined;
  },
  describe: () => [
    `dbaas side: ${via === 'cli' ? '`dbaas switchover NAME --to MEMBER`' : 'Patroni\'s POST /switchover (--via api, or this CLI has no switchover command)'}; plain side: POST /switchover.`,
    'Seconds from the request: downtime = the longest gap between two acknowledged writes through rw, of 3 writing connections',
    'and a fresh connection every 100 ms (the headline); to new leader = first write acknowledged by the candidate; request = the',
    'request returned (CLI exit or HTTP 200); gap from = when the longest gap began; 1-conn gap = the downtime seen by the',
    'writer\'s first connection alone; rw UP = HAProxy stats first show the candidate UP on rw.',
  ].join('\n'),
  measure,
}));
