/**
 * The few Docker Engine API calls the CLI's reads make (container, volume and network lists, a
 * command run in a container), over node's own http. dockerode and its modem (ssh2, tar, …) cost
 * the CLI ~0.1 s of start-up for a handful of GETs; activities keep dockerode (./local-engine.ts),
 * and both parse what the engine answers with common/inventory.ts.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Socket } from 'node:net';

/** Where an engine listens: a unix socket, or a plain-HTTP TCP address. */
export type EngineAddress = { socketPath: string } | { host: string; port: number };

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** dockerode's default: Docker Desktop's socket in the home directory when there is one, else the system's. */
function defaultSocket(): string {
  const own = path.join(os.homedir(), '.docker', 'run', 'docker.sock');
  try {
    fs.accessSync(own);
    return own;
  } catch {
    return '/var/run/docker.sock';
  }
}

/**
 * The engine DOCKER_HOST names, read as dockerode reads it; undefined for what only dockerode
 * speaks (TLS, ssh, a named pipe, a path prefix): the caller uses dockerode then.
 */
export function engineAddressFromEnv(env: NodeJS.ProcessEnv = process.env): EngineAddress | undefined {
  const h = env.DOCKER_HOST;
  if (!h) return { socketPath: defaultSocket() };
  if (h.startsWith('unix://')) return { socketPath: h.slice('unix://'.length) || defaultSocket() };
  let url: URL;
  try {
    url = new URL(h.includes('//') ? h : `tcp://${h}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'tcp:' || url.port === '' || url.port === '2376' || env.DOCKER_TLS_VERIFY === '1' || env.DOCKER_PATH_PREFIX) return undefined;
  return { host: url.hostname, port: Number(url.port) };
}

/** An engine's refusal, shaped as dockerode's (statusCode, and the engine's message). */
function engineError(method: string, p: string, status: number, body: string): Error {
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    // not JSON: the body as it is
  }
  return Object.assign(new Error(`(HTTP code ${status}) ${method} ${p}: ${message}`), { statusCode: status });
}

/** Docker's multiplexed exec stream: 8-byte frame headers (stream, 0,0,0, size BE32). */
export function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Every byte until the engine closes the stream. */
function readAll(s: NodeJS.ReadableStream | Socket, head: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const chunks: Buffer[] = [head];
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

export class EngineApi {
  constructor(readonly address: EngineAddress) {}

  /**
   * One request; `stream`: a hijacked answer (exec start), read until the engine closes it. A
   * connection of its own each time (no keep-alive): a unix socket connects in microseconds, and
   * nothing is left open to hold the process.
   */
  private request(method: string, p: string, body?: object, stream = false): Promise<Buffer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request({
        ...this.address,
        method,
        path: p,
        agent: false,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          // The engine answers 101 and hands the connection over to the command's output.
          ...(stream ? { connection: 'Upgrade', upgrade: 'tcp' } : {}),
        },
      });
      req.on('error', reject);
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => readAll(socket, head).then(resolve, reject));
      req.on('response', (res) => {
        readAll(res).then((buf) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) reject(engineError(method, p, status, buf.toString('utf8')));
          else resolve(buf);
        }, reject);
      });
      req.end(payload);
    });
  }

  async get<T>(p: string, query: Record<string, string | object> = {}): Promise<T> {
    const q = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
    return JSON.parse((await this.request('GET', q ? `${p}?${q}` : p)).toString('utf8')) as T;
  }

  async ping(): Promise<void> {
    await this.request('GET', '/_ping');
  }

  /** Run a command inside a running container (docker exec), collecting stdout+stderr. */
  async exec(container: string, cmd: string[]): Promise<ExecResult> {
    const created = JSON.parse((await this.request('POST', `/containers/${encodeURIComponent(container)}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true })).toString('utf8')) as { Id: string };
    const output = await this.request('POST', `/exec/${created.Id}/start`, { Detach: false, Tty: false }, true);
    const info = await this.get<{ ExitCode?: number | null }>(`/exec/${created.Id}/json`);
    return { exitCode: info.ExitCode ?? -1, output: demux(output) };
  }
}
