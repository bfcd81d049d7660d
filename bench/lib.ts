/** Small helpers shared by the benchmarks: figures, formatting, machine load, options, the exit of main. */
import * as os from 'node:os';
import { parseArgs } from 'node:util';

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

export type Side = 'dbaas' | 'plain';

/**
 * The sides of run `i`, in alternating order so neither side always runs on a machine warmed (or
 * loaded) by the other, without those `only` leaves out.
 */
export function sidesOf(i: number, only?: Side): Side[] {
  const both: Side[] = i % 2 === 1 ? ['dbaas', 'plain'] : ['plain', 'dbaas'];
  return both.filter((s) => !only || s === only);
}

/**
 * `--runs N` (default 3), `--help`/`-h` and, with `withOnly`, `--only dbaas|plain`, strictly.
 * Returns the options, or the exit code: 0 after the usage for --help, 2 after what is wrong and the usage.
 */
/** Where a bench cluster keeps its backups: its own volume (the default) or the repository host. */
export type BackupLayout = 'volume' | 'repository-host';

export function parseRunsOptions(usage: string, withOnly = false, withLayout = false): { runs: number; only?: Side; layout: BackupLayout } | number {
  try {
    const v = parseArgs({
      options: {
        runs: { type: 'string', default: '3' },
        ...(withOnly ? { only: { type: 'string' as const } } : {}),
        ...(withLayout ? { layout: { type: 'string' as const, default: 'volume' } } : {}),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values as { runs: string; only?: string; layout?: string; help?: boolean };
    if (v.help) {
      console.log(usage);
      return 0;
    }
    const runs = Number(v.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
    if (v.only !== undefined && v.only !== 'dbaas' && v.only !== 'plain') throw new Error('--only must be dbaas or plain');
    const layout = v.layout ?? 'volume';
    if (layout !== 'volume' && layout !== 'repository-host') throw new Error('--layout must be volume or repository-host');
    return { runs, only: v.only, layout };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
}
