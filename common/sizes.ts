/**
 * Member sizes (`cluster create --cpus N --memory SIZE`, `cluster resize`): the Docker limits of
 * each Postgres member, and the PostgreSQL parameters derived from its memory. Pure: the CLI parses
 * with it, the workflows check their input with it, the renderer and the activities apply it.
 *
 * The formula, with M the member's memory in MiB (every value rounded down to whole MB):
 *   shared_buffers       = M / 4
 *   effective_cache_size = M × 3 / 4
 *   max_connections      = M / 8, from 25 to 500
 *   work_mem             = (M − shared_buffers) / (max_connections × 3), at least 4MB
 *   maintenance_work_mem = M / 16, from 16MB to 2GB
 * A quarter for PostgreSQL's own cache and the rest left to the kernel's page cache (which the
 * container's limit counts too) is the usual starting point (PostgreSQL's documentation, PGTune);
 * max_connections follows memory as the clouds' defaults do (about one per 8 to 10 MiB), kept at
 * least at Patroni's floor (25) and under what one member's memory can serve; work_mem lets every
 * connection run three sorts or hashes at once in what shared_buffers leaves, never below
 * PostgreSQL's default. The CPU limit only bounds the container.
 */

export interface MemberSize {
  /** CPUs the member may use (Docker NanoCpus / 10⁹), e.g. 0.5, 1, 2; absent: no limit. */
  cpus?: number;
  /** Memory limit in MiB (Docker Memory: the container's whole use, page cache included); absent: no limit. */
  memoryMiB?: number;
}

/** PostgreSQL, Patroni and pgBackRest share the limit; below this PostgreSQL has too little room to start reliably. */
export const MIN_MEMORY_MIB = 256;
export const MAX_MEMORY_MIB = 1024 * 1024;
export const MIN_CPUS = 0.1;
export const MAX_CPUS = 256;
/** The floor below which Patroni replaces max_connections with its default (common/managed-parameters.ts). */
export const MIN_CONNECTIONS = 25;
export const MAX_CONNECTIONS = 500;
const MIN_WORK_MEM_MB = 4;
const MIN_MAINTENANCE_MB = 16;
const MAX_MAINTENANCE_MB = 2048;

const MIB = 1024 * 1024;
/** Docker's units: binary, a bare number is bytes. */
const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: MIB, mb: MIB, mib: MIB, g: 1024 * MIB, gb: 1024 * MIB, gib: 1024 * MIB, t: MIB * MIB, tb: MIB * MIB, tib: MIB * MIB };
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;
const CPUS = /^\d+(\.\d{1,2})?$/;

/** `--memory` as typed (512m, 2g, 1536MiB; binary units as Docker's): whole MiB, or why not. */
export function parseMemory(text: string): { memoryMiB: number } | { problem: string } {
  const m = SIZE.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return { problem: `--memory takes a size like 512m, 2g or 1536MiB, got "${text}"` };
  const memoryMiB = Math.floor((Number(m[1]) * unit) / MIB);
  const problem = memoryProblem(memoryMiB, text);
  return problem ? { problem } : { memoryMiB };
}

/** `--cpus` as typed (0.5, 1, 2.25): a number of CPUs, or why not. */
export function parseCpus(text: string): { cpus: number } | { problem: string } {
  const t = text.trim();
  if (!CPUS.test(t)) return { problem: `--cpus takes a number of CPUs with at most two decimals, like 0.5 or 2, got "${text}"` };
  const problem = cpusProblem(Number(t));
  return problem ? { problem } : { cpus: Number(t) };
}

function memoryProblem(mib: number, shown: string | number = `${mib}MiB`): string | undefined {
  if (!Number.isInteger(mib) || mib < MIN_MEMORY_MIB) return `--memory must be at least ${MIN_MEMORY_MIB}m (PostgreSQL, Patroni and pgBackRest share it), got ${shown}`;
  if (mib > MAX_MEMORY_MIB) return `--memory must be at most ${MAX_MEMORY_MIB / 1024 / 1024}t, got ${shown}`;
  return undefined;
}

function cpusProblem(cpus: number): string | undefined {
  const hundredths = Math.round(cpus * 100);
  if (!Number.isFinite(cpus) || Math.abs(hundredths - cpus * 100) > 1e-6 || cpus < MIN_CPUS || cpus > MAX_CPUS) {
    return `--cpus must be from ${MIN_CPUS} to ${MAX_CPUS} with at most two decimals, got ${cpus}`;
  }
  return undefined;
}

/** Why this is no size (a workflow's input, a spec), or undefined. */
export function sizeProblem(s: unknown): string | undefined {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'size must be an object {cpus?, memoryMiB?}';
  const { cpus, memoryMiB, ...rest } = s as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `size takes cpus and memoryMiB only, got ${extra.join(', ')}`;
  const number = (name: string, v: unknown, check: (n: number) => string | undefined): string | undefined =>
    v === undefined ? undefined : typeof v === 'number' ? check(v) : `${name} must be a number, got ${JSON.stringify(v)}`;
  return number('cpus', cpus, cpusProblem) ?? number('memoryMiB', memoryMiB, (n) => memoryProblem(n));
}

/** The Docker HostConfig limits of a size (none for what it leaves out). */
export function dockerLimits(s: MemberSize | undefined): { NanoCpus?: number; Memory?: number } {
  return {
    ...(s?.cpus !== undefined ? { NanoCpus: Math.round(s.cpus * 1e9) } : {}),
    ...(s?.memoryMiB !== undefined ? { Memory: s.memoryMiB * MIB } : {}),
  };
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** The parameters derived from a member's memory (the formula above); none without a memory limit. */
export function sizeParameters(s: MemberSize | undefined): Record<string, string> {
  const m = s?.memoryMiB;
  if (m === undefined) return {};
  const sharedBuffers = Math.floor(m / 4);
  const connections = clamp(Math.floor(m / 8), MIN_CONNECTIONS, MAX_CONNECTIONS);
  return {
    shared_buffers: `${sharedBuffers}MB`,
    effective_cache_size: `${Math.floor((m * 3) / 4)}MB`,
    max_connections: String(connections),
    work_mem: `${Math.max(MIN_WORK_MEM_MB, Math.floor((m - sharedBuffers) / (connections * 3)))}MB`,
    maintenance_work_mem: `${clamp(Math.floor(m / 16), MIN_MAINTENANCE_MB, MAX_MAINTENANCE_MB)}MB`,
  };
}

/** The size names a limit (a cluster made without --cpus/--memory has none). */
export const hasLimits = (s: MemberSize | null | undefined): boolean => s?.cpus !== undefined || s?.memoryMiB !== undefined;

/** A size in one phrase: "1 CPU, 512 MiB", "no limits". */
export function describeSize(s: MemberSize | undefined): string {
  const parts = [
    ...(s?.cpus !== undefined ? [`${s.cpus} CPU${s.cpus === 1 ? '' : 's'}`] : []),
    ...(s?.memoryMiB !== undefined ? [s.memoryMiB % 1024 === 0 ? `${s.memoryMiB / 1024} GiB` : `${s.memoryMiB} MiB`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'no limits';
}

/** The size after a resize: what it names replaces the current value, the rest stays. */
export function resized(current: MemberSize | undefined, change: MemberSize): MemberSize {
  return { ...current, ...change };
}
