/** Small helpers shared by the benchmarks: figures, formatting, machine load, the exit of main. */
import * as os from 'node:os';

export const secs = (ms: number): number => Math.round(ms) / 1000;

export const fmt = (s: number | undefined, digits = 1): string =>
  s === undefined || !Number.isFinite(s) ? '-' : s.toFixed(digits);

/** 1-minute load average, printed next to every figure (the machine has 2 cores). */
export const load1 = (): number => Math.round(os.loadavg()[0] * 100) / 100;

export function median(xs: (number | undefined)[]): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Exit with the code `main` resolves to; a failure prints one line `bench NAME: message` and exits 1. */
export function exitWith(bench: string, main: Promise<number>): void {
  main.then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`bench ${bench}: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
