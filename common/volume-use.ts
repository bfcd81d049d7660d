/**
 * How full a member's data volume is: `df` on the volume's mount in the member (the file system
 * the volume lives on; a local Docker volume shares the engine's). Pure: `cluster status` and the
 * volume metric read the same numbers.
 */

export interface VolumeUse {
  usedBytes: number;
  sizeBytes: number;
}

/** GNU df (coreutils, in every member image) in bytes, two columns, a header line first. */
export const dfCommand = (dir: string): string[] => ['df', '-B1', '--output=used,size', dir];

/** The numbers of dfCommand's output, or undefined when it printed something else. */
export function parseDf(output: string): VolumeUse | undefined {
  const last = output.trim().split('\n').pop() ?? '';
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(last);
  return m ? { usedBytes: Number(m[1]), sizeBytes: Number(m[2]) } : undefined;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB": one decimal from KiB on. */
export function binaryBytes(n: number): string {
  let v = n;
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return unit === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[unit]}`;
}

/** "1.2 GiB of 50.0 GiB (2%)"; "-" when it could not be read (a stopped member). */
export function describeVolumeUse(u: VolumeUse | null): string {
  if (!u) return '-';
  const pct = u.sizeBytes > 0 ? Math.round((u.usedBytes / u.sizeBytes) * 100) : 0;
  return `${binaryBytes(u.usedBytes)} of ${binaryBytes(u.sizeBytes)} (${pct}%)`;
}
