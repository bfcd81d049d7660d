/**
 * Lines of several containers in one time order: all at once for what the logs already hold, and
 * through a short reorder window while `--follow` streams them. Pure (the caller owns the clock).
 */

export interface Timed {
  /** Microseconds since the epoch. */
  atUs: number;
}

/** Every list's items in time order; a stable sort, so one container's lines keep their order, and ties go by list. */
export function mergeByTime<T extends Timed>(lists: T[][]): T[] {
  return lists.flat().sort((a, b) => a.atUs - b.atUs);
}

/**
 * Streams from several containers arrive each in order but not in step with each other: a line is
 * held `windowMs` after it arrived, so a slightly earlier line of another container can still
 * pass it. What leaves at once leaves in time order.
 */
export class ReorderBuffer<T extends Timed> {
  private held: { item: T; arrivedMs: number }[] = [];

  constructor(private readonly windowMs: number) {}

  push(item: T, arrivedMs: number): void {
    this.held.push({ item, arrivedMs });
  }

  get size(): number {
    return this.held.length;
  }

  /** The lines held their window by `nowMs`, with every held line no later than the latest of them, in time order. */
  take(nowMs: number): T[] {
    const due = this.held.filter((h) => h.arrivedMs <= nowMs - this.windowMs);
    if (due.length === 0) return [];
    const until = due.reduce((max, h) => Math.max(max, h.item.atUs), -Infinity);
    return this.leaveWhere((h) => h.item.atUs <= until);
  }

  /** Everything held, in time order (the end of the stream). */
  flush(): T[] {
    return this.leaveWhere(() => true);
  }

  private leaveWhere(leaves: (h: { item: T; arrivedMs: number }) => boolean): T[] {
    const out = this.held.filter(leaves);
    this.held = this.held.filter((h) => !leaves(h));
    return mergeByTime([out.map((h) => h.item)]);
  }
}
