/** Where a server of the worker listens: `HOST:PORT` from the environment, or off. Pure. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `value` (an environment variable) or the fallback; `off` (or empty) turns the server off; a problem for anything else unreadable. */
export function parseListenAddress(value: string | undefined, fallback: string): ListenAddress | 'off' | { problem: string } {
  const text = (value ?? fallback).trim();
  if (text === '' || text === 'off') return 'off';
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) return { problem: `${text} is not HOST:PORT` };
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

export const formatListenAddress = (a: ListenAddress): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
