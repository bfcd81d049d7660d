/**
 * Host port layout. Each cluster owns a block of PORT_BLOCK_SIZE consecutive ports on
 * 127.0.0.1 starting at base: rw = base, ro = base + 1, stats = base + 2; the rest is
 * reserved for per-member and pooled endpoints. Pure.
 */
import type { ClusterPorts } from './spec';

export const PORT_BLOCK_SIZE = 16;
export const DEFAULT_PORT_BASE = 15432;
export const MAX_CLUSTERS = 200;

export function portsFromBase(base: number): ClusterPorts {
  return { rw: base, ro: base + 1, stats: base + 2 };
}

export function blockBase(first: number, index: number): number {
  return first + index * PORT_BLOCK_SIZE;
}

/** The lowest block whose base is not taken and whose ports are all free. */
export function pickFreeBlock(first: number, takenBases: Set<number>, portBusy: (p: number) => boolean): number | undefined {
  for (let i = 0; i < MAX_CLUSTERS; i++) {
    const base = blockBase(first, i);
    if (base + PORT_BLOCK_SIZE > 65535) return undefined;
    if (takenBases.has(base)) continue;
    const p = portsFromBase(base);
    if ([p.rw, p.ro, p.stats].some(portBusy)) continue;
    return base;
  }
  return undefined;
}
