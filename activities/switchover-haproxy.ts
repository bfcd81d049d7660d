/**
 * HAProxy rw during a switchover, steered through the runtime API so that it follows the
 * switch at once instead of after its health checks. Left to the checks, HAProxy keeps the old
 * leader UP for seconds after its PostgreSQL stopped (Patroni 3.0.2 answers /primary 200 for as
 * long as a member holds the leader key, "stopping" included); connections sent there are
 * refused and retried by HAProxy on the same server about 1 s apart, holding clients well past
 * the moment the new leader is ready. The checks keep running and decide alone afterwards:
 * - the old leader is set to DRAIN (no new connections; established sessions go on) just before
 *   POST /switchover, or, for a scheduled one, once its Patroni says "stopping" (pg_ctl stop);
 * - it is set back to READY with its health DOWN once its /primary answers 503 (its checks
 *   agree from then on) or the leader key moved;
 * - the new leader's health is set UP once its PostgreSQL left recovery (/patroni role master).
 * A retried attempt reads the DRAIN state back from the stats, so nothing stays drained.
 */
import type Docker from 'dockerode';
import { runtimeCommand, serverRows, statsCsv } from './haproxy';
import { getPatroni } from './patroni-api';
import type { Addresses } from './switchover-dcs';

/** The member's answer to HAProxy's rw check (OPTIONS /primary), or undefined when it does not answer. */
export async function primaryStatus(addresses: Addresses, member: string): Promise<number | undefined> {
  const api = await addresses.api(member);
  if (!api) return undefined;
  try {
    const res = await fetch(`${api}/primary`, { method: 'OPTIONS', signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    addresses.forget(member);
    return undefined;
  }
}

export class RwSteering {
  private drained = false;
  /** The old leader is back to READY with health DOWN: nothing more to do for it. */
  private restored = false;
  private newUp = false;
  /** Any runtime command was needed (for the workflow's result). */
  steered = false;

  constructor(private readonly docker: Docker, private readonly addresses: Addresses, private readonly statsPort: number) {}

  private async run(command: string): Promise<void> {
    const out = await runtimeCommand(this.docker, this.addresses.cluster, command);
    // The runtime API answers an empty line on success and a message on failure.
    if (out.length > 0) throw new Error(`haproxy "${command}": ${out}`);
  }

  private async rwRows(): Promise<{ server: string; status: string }[]> {
    return serverRows(await statsCsv(this.statsPort)).filter((r) => r.proxy === 'rw');
  }

  private async rwStatus(member: string): Promise<string | undefined> {
    return (await this.rwRows()).find((r) => r.server === member)?.status;
  }

  /** No new rw connections to the leader about to demote (established sessions go on). */
  async drainOldLeader(from: string): Promise<void> {
    await this.run(`set server rw/${from} state drain`);
    this.drained = true;
    this.steered = true;
  }

  /** One look at the old leader while waiting: drain it once it stops, restore it once it is no longer primary. */
  async oldLeader(from: string, leaderMoved: boolean): Promise<void> {
    if (this.restored) return;
    const status = await this.rwStatus(from);
    if (status?.startsWith('DRAIN')) this.drained = true; // perhaps a previous attempt's
    if (leaderMoved || (this.drained && (await primaryStatus(this.addresses, from)) === 503)) {
      // It no longer is the primary: health DOWN is what its checks will find from now on.
      if (this.drained || status?.startsWith('UP')) {
        await this.run(`set server rw/${from} health down`);
        this.steered = true;
      }
      if (this.drained) await this.run(`set server rw/${from} state ready`);
      this.drained = false;
      this.restored = true;
      return;
    }
    if (this.drained) return;
    // Only on positive evidence: draining a healthy leader would refuse new connections.
    const api = await this.addresses.api(from);
    const s = api ? await getPatroni(api).catch(() => undefined) : undefined;
    if (s !== undefined && (s.state === 'stopping' || s.state === 'stopped' || s.role !== 'leader')) {
      await this.drainOldLeader(from);
    }
  }

  /** Mark the new leader UP; undefined once it is the only rw server UP and the old one is not drained. */
  async newLeader(leader: string, from: string): Promise<string | undefined> {
    if (!this.newUp) {
      await this.run(`set server rw/${leader} health up`);
      this.newUp = true;
      this.steered = true;
    }
    const rows = await this.rwRows();
    const up = rows.filter((r) => r.status.startsWith('UP')).map((r) => r.server);
    const oldDrained = rows.find((r) => r.server === from)?.status.startsWith('DRAIN');
    if (up.length === 1 && up[0] === leader && !oldDrained) return undefined;
    return `${leader} leads; HAProxy rw UP: [${up.join(', ')}]${oldDrained ? `, ${from} drained` : ''}`;
  }

  /** Back to READY if drained: the health checks alone decide from here on. */
  async undrain(member: string): Promise<void> {
    if ((await this.rwStatus(member))?.startsWith('DRAIN')) await this.run(`set server rw/${member} state ready`);
    this.drained = false;
  }
}
