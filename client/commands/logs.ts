/**
 * `dbaas logs NAME [--member M] [--component C] [--since T] [--follow] [--grep RE] [--json]`: the
 * cluster's container logs, every host's, merged in time order. Read-only, so no workflow: the
 * containers come from the inventory, as `cluster status` finds them; a stopped member's logs are
 * still in its container.
 */
import type { Inventory } from '../../activities/hosts/inventory';
import type { Member } from '../../common/inventory';
import { formatLogLine, logLineJson, logLinesOf, type LogComponent, type LogLine, type MemberLineComponent } from '../../common/log-lines';
import { labelWidth, memberLabels, pickLogMembers } from '../../common/log-sources';
import { ReorderBuffer, mergeByTime } from '../../common/log-merge';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import { readContainerLines, streamContainerLines } from '../container-logs';
import { UsageError } from '../errors';

export interface LogsOptions {
  member?: string;
  component?: LogComponent;
  /** ms since the epoch. */
  since?: number;
  follow: boolean;
  grep?: RegExp;
  json: boolean;
}

/** How long a followed line waits for an earlier one from another container. */
const REORDER_MS = 500;
/** How often `--follow` looks for members that started (a stopped member, a new replica) to follow them too. */
const RESCAN_MS = 2000;

const keyOf = (m: Member): string => `${m.host}/${m.container}`;

/** Where each container's shown lines end: the last time, and (a Postgres member) whose line it was. */
type Seen = Map<string, { atUs: number; component?: MemberLineComponent }>;

function remember(seen: Seen, m: Member, lines: LogLine[]): void {
  const last = lines[lines.length - 1];
  if (last) seen.set(keyOf(m), { atUs: last.atUs, ...(last.component === 'patroni' || last.component === 'postgres' ? { component: last.component } : {}) });
}

async function pickMembers(inv: Inventory, cluster: string, o: LogsOptions): Promise<Member[]> {
  // Every generation: a blue/green upgrade's next members log too.
  const picked = pickLogMembers(cluster, await inv.members(cluster, { generation: 'all' }), o.member, o.component);
  if ('problem' in picked) throw new UsageError(picked.problem);
  return picked.members;
}

export async function logsCommand(cluster: string, o: LogsOptions): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const members = await pickMembers(inv, cluster, o);
  const label = memberLabels(members);
  const width = labelWidth(members, o.component);
  // A closed pipe (`| head`) ends the output, as Ctrl-C ends --follow.
  const closed = new AbortController();
  process.stdout.once('error', () => closed.abort());
  const print = (l: LogLine): void => {
    if (closed.signal.aborted) return;
    if ((o.component === undefined || l.component === o.component) && (o.grep === undefined || o.grep.test(l.line))) {
      process.stdout.write(`${o.json ? logLineJson(l) : formatLogLine(l, label(l), width)}\n`);
    }
  };
  // What the logs hold up to now, merged at once; --follow carries on from this moment.
  const cutUs = Date.now() * 1000;
  const seen: Seen = new Map();
  const lists = await Promise.all(members.map(async (m) => {
    const lines = logLinesOf(m, await readContainerLines(inv, m, { ...(o.since !== undefined ? { sinceUs: o.since * 1000 } : {}), untilUs: cutUs }));
    remember(seen, m, lines);
    return lines;
  }));
  for (const l of mergeByTime(lists)) print(l);
  if (o.follow && !closed.signal.aborted) await followLogs(inv, cluster, o, { cutUs, seen, print, closed: closed.signal });
}

/** The picked members that run now; none while they are gone (a removed replica) or the engines do not answer: the next look tries again. */
async function runningMembers(inv: Inventory, cluster: string, o: LogsOptions): Promise<Member[]> {
  try {
    const picked = pickLogMembers(cluster, await inv.members(cluster, { generation: 'all' }), o.member, o.component);
    return 'problem' in picked ? [] : picked.members.filter((m) => m.state === 'running');
  } catch {
    return [];
  }
}

/** Stream every picked member that runs (and those that start later) until Ctrl-C, held briefly to keep time order. */
async function followLogs(inv: Inventory, cluster: string, o: LogsOptions, s: { cutUs: number; seen: Seen; print: (l: LogLine) => void; closed: AbortSignal }): Promise<void> {
  const stopped = new AbortController();
  const stop = (): void => stopped.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  s.closed.addEventListener('abort', stop, { once: true });
  const buffer = new ReorderBuffer<LogLine>(REORDER_MS);
  const ticker = setInterval(() => buffer.take(Date.now()).forEach(s.print), REORDER_MS / 5);
  const following = new Map<string, Promise<void>>();
  try {
    while (!stopped.signal.aborted) {
      for (const m of await runningMembers(inv, cluster, o)) {
        const key = keyOf(m);
        if (following.has(key) || stopped.signal.aborted) continue;
        const from = s.seen.get(key);
        const run = streamContainerLines(inv, m, from?.atUs ?? s.cutUs, stopped.signal, (t) => {
          const [l] = logLinesOf(m, [t], s.seen.get(key)?.component);
          remember(s.seen, m, [l]);
          buffer.push(l, Date.now());
        }).catch(() => undefined).finally(() => following.delete(key));
        following.set(key, run);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RESCAN_MS);
        stopped.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  } finally {
    stopped.abort();
    clearInterval(ticker);
    await Promise.all(following.values());
    buffer.flush().forEach(s.print);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
