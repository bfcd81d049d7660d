/**
 * A fake Docker Engine API on a unix socket, for the CLI's read path without Docker: the container,
 * network and volume lists (label filters applied as the engine applies them), `_ping`, and exec
 * (create, a hijacked start answering 101 and the multiplexed output, inspect). Records every
 * request; answers what `exec` maps a command to.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import type { ContainerRow, NetworkRow, VolumeRow } from '../../common/inventory';

export interface FakeEngineState {
  containers: ContainerRow[];
  networks: NetworkRow[];
  volumes: VolumeRow[];
  /** A command's output and exit code by its first words joined ("df -B1", "pgbackrest --stanza=orders"). */
  exec: (container: string, cmd: string[]) => { exitCode: number; stdout: string };
  /** What `GET /containers/NAME/json` lists as a container's mounts (absent: 404, as for an unknown container). */
  mounts?: Record<string, { Source?: string; Destination?: string }[]>;
}

export interface FakeEngine {
  socketPath: string;
  /** Method and path of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Docker's label filter: `key` (has the label) or `key=value`. */
function matchesLabels(labels: Record<string, string> | null | undefined, filters: string | null): boolean {
  const wanted = filters ? ((JSON.parse(filters) as { label?: string[] }).label ?? []) : [];
  return wanted.every((f) => {
    const [k, v] = f.split('=');
    return labels?.[k] !== undefined && (v === undefined || labels[k] === v);
  });
}

/** One frame of Docker's multiplexed stream (1: stdout). */
const frame = (text: string): Buffer => {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(8);
  head[0] = 1;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

export async function startFakeEngine(state: FakeEngineState): Promise<FakeEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-fake-engine-'));
  const socketPath = path.join(dir, 'docker.sock');
  const requests: string[] = [];
  const execs = new Map<string, { container: string; cmd: string[]; exitCode?: number }>();
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://engine');
      requests.push(`${req.method} ${url.pathname}`);
      const filters = url.searchParams.get('filters');
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      if (url.pathname === '/_ping') return void res.end('OK');
      if (url.pathname === '/containers/json') return json(res, 200, state.containers.filter((c) => matchesLabels(c.Labels, filters)));
      if (url.pathname === '/networks') return json(res, 200, state.networks.filter((n) => matchesLabels(n.Labels, filters)));
      if (url.pathname === '/volumes') return json(res, 200, { Volumes: state.volumes.filter((v) => matchesLabels(v.Labels, filters)), Warnings: null });
      const create = /^\/containers\/([^/]+)\/exec$/.exec(url.pathname);
      if (create && req.method === 'POST') {
        const container = decodeURIComponent(create[1]);
        if (!state.containers.some((c) => c.Names.includes(`/${container}`))) return json(res, 404, { message: `No such container: ${container}` });
        const id = `exec${execs.size + 1}`;
        execs.set(id, { container, cmd: body.Cmd as string[] });
        return json(res, 201, { Id: id });
      }
      // Without `Upgrade` (dockerode when no stdin is attached): 200 and the output until close.
      const start = /^\/exec\/([^/]+)\/start$/.exec(url.pathname);
      const started = start ? execs.get(start[1]) : undefined;
      if (started) {
        const r = state.exec(started.container, started.cmd);
        started.exitCode = r.exitCode;
        res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
        return void res.end(frame(r.stdout));
      }
      const inspected = /^\/containers\/([^/]+)\/json$/.exec(url.pathname);
      const mounts = inspected ? state.mounts?.[decodeURIComponent(inspected[1])] : undefined;
      if (mounts) return json(res, 200, { Mounts: mounts });
      const inspect = /^\/exec\/([^/]+)\/json$/.exec(url.pathname);
      if (inspect) return json(res, 200, { ExitCode: execs.get(inspect[1])?.exitCode ?? null, Running: false });
      json(res, 404, { message: `page not found: ${url.pathname}` });
    });
  });
  // exec start with `Upgrade: tcp`: the engine answers 101, then writes the output and closes.
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    const url = new URL(req.url ?? '/', 'http://engine');
    requests.push(`${req.method} ${url.pathname}`);
    const id = /^\/exec\/([^/]+)\/start$/.exec(url.pathname)?.[1];
    const e = id === undefined ? undefined : execs.get(id);
    req.resume();
    if (!e) return void socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    const r = state.exec(e.container, e.cmd);
    e.exitCode = r.exitCode;
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    socket.end(frame(r.stdout));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve();
    })),
  };
}
