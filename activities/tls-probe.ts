/**
 * The certificate a server presents to a new connection, verified against its CA: a
 * PostgreSQL-protocol server (PostgreSQL or PgBouncer: SSLRequest, then the handshake) or a
 * plain TLS one (a pgBackRest server, which also wants a client certificate). Used to check that
 * a rotation reached every server, without logging in.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

/** PostgreSQL's SSLRequest: length 8, code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export interface PresentedCertificate {
  /** Upper-case hex, as node prints it. */
  serial: string;
  validTo: string;
}

/**
 * Connects to host:port and verifies the certificate against `ca` and the name `expectedName`
 * (a DNS name, also sent as SNI, or an IP address such as 127.0.0.1).
 */
export function presentedCertificate(host: string, port: number, expectedName: string, ca: string, timeoutMs = 5000): Promise<PresentedCertificate> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host, port });
    const fail = (err: Error): void => {
      raw.destroy();
      reject(err);
    };
    raw.setTimeout(timeoutMs, () => fail(new Error(`no TLS answer from ${host}:${port} within ${timeoutMs} ms`)));
    raw.once('error', fail);
    raw.once('connect', () => raw.write(SSL_REQUEST));
    raw.once('data', (answer: Buffer) => {
      if (answer[0] !== 0x53) return fail(new Error(`${host}:${port} does not offer TLS (answered ${JSON.stringify(String.fromCharCode(answer[0]))})`));
      // `host` is the name the certificate is checked against; SNI takes DNS names only.
      const secure = tls.connect({ socket: raw, ca, host: expectedName, servername: net.isIP(expectedName) ? undefined : expectedName });
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        const c = secure.getPeerCertificate();
        secure.destroy();
        resolve({ serial: c.serialNumber.toUpperCase(), validTo: c.valid_to });
      });
    });
  });
}

/** The certificate a plain TLS server (pgBackRest's) presents, verified against `ca` and `expectedName`; `client`: the pair to present. */
export function presentedTlsCertificate(
  host: string, port: number, expectedName: string, ca: string, client?: { certPem: string; keyPem: string }, timeoutMs = 5000,
): Promise<PresentedCertificate> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ host, port, ca, servername: expectedName, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) });
    secure.setTimeout(timeoutMs, () => {
      secure.destroy();
      reject(new Error(`no TLS answer from ${host}:${port} within ${timeoutMs} ms`));
    });
    secure.once('error', (err) => {
      secure.destroy();
      reject(err);
    });
    secure.once('secureConnect', () => {
      const c = secure.getPeerCertificate();
      secure.destroy();
      resolve({ serial: c.serialNumber.toUpperCase(), validTo: c.valid_to });
    });
  });
}

/** Until the server presents `serial` (a server restarting on a new certificate), at most timeoutMs. */
export async function waitForPresentedSerial(probe: () => Promise<PresentedCertificate>, serial: string, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    try {
      seen = (await probe()).serial;
      if (seen === serial.toUpperCase()) return;
    } catch (err) {
      seen = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what} does not present its new certificate ${serial} within ${timeoutMs / 1000} s (last: ${seen})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
