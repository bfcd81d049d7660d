/**
 * How to reach Temporal. Local dev server by default; a remote one through
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and, for TLS/mTLS, TEMPORAL_TLS_CA,
 * TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY (file paths) or TEMPORAL_TLS=1 (system roots).
 * TEMPORAL_HTTP_ADDRESS names a plain-HTTP API of the server (host:port) for the CLI's quick reads.
 */
import * as fs from 'node:fs';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';
/** The dev server's HTTP API listens this far above its gRPC port (7233 → 7243, Temporal's own habit). */
export const HTTP_PORT_OFFSET = 10;

export interface TlsFiles {
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  /** true when the address came from TEMPORAL_ADDRESS (dbaas must not start a server). */
  external: boolean;
  tls?: TlsFiles | true;
  ui: string;
  /**
   * The server's HTTP API (host:port), read by `cluster status` without loading gRPC: the dev
   * server's (started with it), or TEMPORAL_HTTP_ADDRESS; none for a TLS server.
   */
  httpAddress?: string;
}

/** host:port of the dev server's HTTP API, beside its gRPC address. */
export function devHttpAddress(address: string): string | undefined {
  const m = /^(.*):(\d+)$/.exec(address);
  return m ? `${m[1]}:${Number(m[2]) + HTTP_PORT_OFFSET}` : undefined;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const external = Boolean(env.TEMPORAL_ADDRESS);
  const address = env.TEMPORAL_ADDRESS || DEFAULT_TEMPORAL_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  let tls: TlsFiles | true | undefined;
  if (env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_KEY || env.TEMPORAL_TLS_CA) {
    const t: TlsFiles = {};
    if (env.TEMPORAL_TLS_CA) t.serverRootCACertificate = fs.readFileSync(env.TEMPORAL_TLS_CA);
    if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
      t.clientCertPair = { crt: fs.readFileSync(env.TEMPORAL_TLS_CERT), key: fs.readFileSync(env.TEMPORAL_TLS_KEY) };
    }
    tls = t;
  } else if (env.TEMPORAL_TLS === '1' || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  const ui = env.TEMPORAL_UI || (external ? '' : DEFAULT_TEMPORAL_UI);
  const httpAddress = env.TEMPORAL_HTTP_ADDRESS || (external || tls ? undefined : devHttpAddress(address));
  return { address, namespace, external, tls, ui, ...(httpAddress ? { httpAddress } : {}) };
}
