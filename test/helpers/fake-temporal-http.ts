/** A small HTTP server standing in for Temporal's HTTP API in unit tests (shapes read off a dev server). */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Runs `fn` with the address of a server answering with `handler` (the request's body read whole). */
export async function withFakeHttpApi(
  handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void, fn: (address: string) => Promise<void>,
): Promise<void> {
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`127.0.0.1:${(srv.address() as AddressInfo).port}`);
  } finally {
    srv.closeAllConnections(); // keep-alive clients' idle sockets
    await new Promise((resolve) => srv.close(resolve));
  }
}

export function answerJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
