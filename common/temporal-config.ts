/**
 * How to reach Temporal. Local dev server by default; a remote one through
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and, for TLS/mTLS, TEMPORAL_TLS_CA,
 * TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY (file paths) or TEMPORAL_TLS=1 (system roots).
 */
import * as fs from 'node:fs';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';

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
  return { address, namespace, external, tls, ui };
}
