/**
 * Long work (a clone, a restore, a backup) is judged by its progress, not by a clock: a watch is
 * fed one progress measure per sample (bytes copied, a WAL position, a size) and says "stalled"
 * once the measure has not moved for a stretch. Pure (the caller passes the time), so it is unit
 * tested without waiting; only activities use it.
 */

/** Five minutes without any movement: far longer than any pause of a working clone, restore or backup. */
export const DEFAULT_STALL_MS = 5 * 60_000;

export type ProgressVerdict =
  | { stalled: false }
  | { stalled: true; stillForMs: number; lastSeen: string };

export class ProgressWatch {
  private last: string | undefined;
  private movedAt: number;

  /** `startedAt` counts as movement: a measure that never appears stalls stallMs after it. */
  constructor(private readonly stallMs: number, startedAt: number) {
    this.movedAt = startedAt;
  }

  /**
   * Any change of the measure counts as progress, not only growth: a restore's --delta removes
   * files, and WAL recycling shrinks a data directory while a clone still works. An unreadable
   * measure (undefined) is no progress, and keeps the last one seen for the stall message.
   */
  observe(measure: string | undefined, now: number): ProgressVerdict {
    if (measure !== undefined && measure !== this.last) {
      this.last = measure;
      this.movedAt = now;
    }
    const stillForMs = now - this.movedAt;
    if (stillForMs < this.stallMs) return { stalled: false };
    return { stalled: true, stillForMs, lastSeen: this.last ?? 'nothing measured' };
  }
}

/** "5 min", "90 s": how a stall's length reads in an error. */
export function stallLength(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

/** The one message every stalled wait fails with. */
export function stallMessage(what: string, stallMs: number, lastSeen: string): string {
  return `${what}: no progress for ${stallLength(stallMs)}: ${lastSeen}`;
}
