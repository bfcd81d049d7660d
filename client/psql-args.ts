/**
 * `dbaas psql NAME [--ro] [--pooled] [--member M] [--superuser] [--] [psql args]`: which arguments
 * are dbaas's and which are psql's, decided before commander parses, since commander would take
 * `--ro` out of psql's arguments wherever it stands and drops `--`. Pure.
 */

/** Flags of `dbaas psql` (and the global ones) without a value. */
const OWN_FLAGS = new Set(['--ro', '--pooled', '--superuser', '--no-wait', '-h', '--help']);
const MEMBER = '--member';

export interface SplitArgs {
  /** What commander parses (argv without node and the script). */
  dbaas: string[];
  /** What psql gets, unchanged. */
  psql: string[];
}

/**
 * Args of dbaas (argv without node and the script). Only when the command is `psql` (preceded by
 * global options only): dbaas's flags and the cluster name come first; `--` or the first other
 * argument starts psql's, which all that follow belong to.
 */
export function splitPsqlArgs(args: string[]): SplitArgs {
  const at = args.findIndex((a) => !a.startsWith('-'));
  if (at < 0 || args[at] !== 'psql') return { dbaas: args, psql: [] };
  const dbaas = args.slice(0, at + 1);
  let named = false;
  for (let i = at + 1; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return { dbaas, psql: args.slice(i + 1) };
    if (OWN_FLAGS.has(a) || a.startsWith(`${MEMBER}=`)) {
      dbaas.push(a);
    } else if (a === MEMBER) {
      dbaas.push(...args.slice(i, i + 2));
      i++;
    } else if (!named && !a.startsWith('-')) {
      dbaas.push(a);
      named = true;
    } else {
      return { dbaas, psql: args.slice(i) };
    }
  }
  return { dbaas, psql: [] };
}
