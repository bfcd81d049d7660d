/**
 * Host port layout. Each cluster owns a block of PORT_BLOCK_SIZE consecutive ports on
 * 127.0.0.1 starting at base: rw = base, ro = base + 1, stats = base + 2, a direct port per
 * member pg-0..pg-10 at base + 3 + N, and the last two reserved for pooled endpoints. Pure.
 */
import type { ClusterPorts } from './spec';

export const PORT_BLOCK_SIZE = 16;
export const DEFAULT_PORT_BASE = 15432;

export function portsFromBase(base: number): ClusterPorts {
  return { rw: base, ro: base + 1, stats: base + 2, pooledRw: base + PORT_BLOCK_SIZE - 2, pooledRo: base + PORT_BLOCK_SIZE - 1 };
}

/** Members with a direct port: pg-0 .. pg-(MEMBER_PORTS - 1). */
export const MEMBER_PORTS = PORT_BLOCK_SIZE - 5;

/** The member's direct host port, or undefined when its index is beyond the block. */
export function memberPort(base: number, member: string): number | undefined {
  const m = /^pg-(\d+)$/.exec(member);
  if (!m || Number(m[1]) >= MEMBER_PORTS) return undefined;
  return base + 3 + Number(m[1]);
}

/** A usable first port: an integer from 1024 (no root-only ports) up to the last whole block. */
export function validPortBase(first: number): boolean {
  return Number.isInteger(first) && first >= 1024 && first + PORT_BLOCK_SIZE - 1 <= 65535;
}

export function blockBase(first: number, index: number): number {
  return first + index * PORT_BLOCK_SIZE;
}

/** An inclusive range of ports, as in /proc/sys/net/ipv4/ip_local_port_range. */
export interface PortRange {
  low: number;
  high: number;
}

/** Parses the kernel's "32768\t60999" line; undefined for anything else. */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const low = Number(m[1]);
  const high = Number(m[2]);
  return low <= high ? { low, high } : undefined;
}

/**
 * Whether a port lies in the kernel's ephemeral range. The kernel hands those ports out as the
 * local end of outgoing connections at any time, so a published port there can be taken
 * between allocation and a member's start, long after the check ("bind: address already in
 * use" when a replica is added days later). Blocks are kept out of that range.
 */
export function inRange(range: PortRange | undefined, port: number): boolean {
  return range !== undefined && port >= range.low && port <= range.high;
}

/** The lowest block whose base is not taken and whose ports are all free, up to port 65535. */
export function pickFreeBlock(first: number, takenBases: Set<number>, portBusy: (p: number) => boolean): number | undefined {
  if (!validPortBase(first)) return undefined;
  for (let i = 0; ; i++) {
    const base = blockBase(first, i);
    if (base + PORT_BLOCK_SIZE - 1 > 65535) return undefined;
    if (takenBases.has(base)) continue;
    if (Array.from({ length: PORT_BLOCK_SIZE }, (_, k) => base + k).some(portBusy)) continue;
    return base;
  }
  return undefined;
}
