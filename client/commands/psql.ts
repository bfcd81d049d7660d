/**
 * `dbaas psql NAME [--ro] [--pooled] [--member M] [--superuser] [-- psql args]`: the local psql,
 * connected. The password goes through a password file (mode 0600, in a private temporary
 * directory removed when psql exits), never through argv, where every local user could read it
 * (`ps`, /proc/<pid>/cmdline), nor through PGPASSWORD.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MULTI_HOST_CONNECT_TIMEOUT_S, resolveConnectionTarget, type ConnectionTarget, type EndpointFlags } from '../connection-target';
import { OperationError } from '../errors';

export async function psqlCommand(name: string, o: EndpointFlags, psqlArgs: string[]): Promise<void> {
  const target = await resolveConnectionTarget(name, o);
  // main() returns it: psql's own exit code is the command's.
  process.exitCode = await runPsql(target, psqlArgs);
}

/** One ~/.pgpass line (host and port exact, any database, so `\c` works): `:` and `\` escaped. */
export function pgpassLine(t: Pick<ConnectionTarget, 'host' | 'hosts' | 'port' | 'user' | 'password'>): string {
  const esc = (s: string): string => s.replace(/[\\:]/g, (c) => `\\${c}`);
  return (t.hosts ?? [t.host]).map((h) => `${esc(h)}:${t.port}:*:${esc(t.user)}:${esc(t.password)}\n`).join('');
}

/**
 * psql's environment: the caller's, with the target in libpq's variables. Variables that would
 * take precedence over the file or steer the connection elsewhere are dropped.
 */
export function psqlEnvironment(t: ConnectionTarget, passfile: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of ['PGPASSWORD', 'PGSERVICE', 'PGSERVICEFILE', 'PGHOSTADDR', 'PGSSLROOTCERT', 'PGTARGETSESSIONATTRS']) delete env[k];
  Object.assign(env, {
    PGHOST: (t.hosts ?? [t.host]).join(','), PGPORT: String(t.port), PGUSER: t.user, PGDATABASE: t.database, PGPASSFILE: passfile, PGSSLMODE: t.sslmode,
  });
  if (t.sslrootcert) env.PGSSLROOTCERT = t.sslrootcert;
  if (t.hosts) env.PGCONNECT_TIMEOUT = String(MULTI_HOST_CONNECT_TIMEOUT_S);
  if (t.hosts && t.readWrite) env.PGTARGETSESSIONATTRS = 'read-write';
  return env;
}

export async function runPsql(t: ConnectionTarget, args: string[], psqlBin = 'psql'): Promise<number> {
  // mkdtemp makes the directory mode 0700: only this user can reach the file in it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-psql-'));
  try {
    const passfile = path.join(dir, 'pgpass');
    fs.writeFileSync(passfile, pgpassLine(t), { mode: 0o600, flag: 'wx' });
    return await runInheritingStdio(psqlBin, args, psqlEnvironment(t, passfile, process.env));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Ctrl-C and Ctrl-\ reach psql too (same process group): psql cancels the running query, and
 * this process must stay to remove the password file. A SIGTERM or SIGHUP sent to this process
 * is passed on to psql, and the file goes once it has exited.
 */
function runInheritingStdio(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    const ignore = (): void => undefined;
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    const handlers: [NodeJS.Signals, (s: NodeJS.Signals) => void][] = [['SIGINT', ignore], ['SIGQUIT', ignore], ['SIGTERM', forward], ['SIGHUP', forward]];
    for (const [s, h] of handlers) process.on(s, h);
    const done = (): void => {
      for (const [s, h] of handlers) process.off(s, h);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(err.code === 'ENOENT' ? new OperationError(`${cmd} not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)`) : err);
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
}
