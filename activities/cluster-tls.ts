/**
 * Each cluster has its own certificate authority: DBAAS_HOME/tls/<cluster>/ca.crt (clients
 * verify against it) and ca.key (mode 0600, never leaves this host, never in Temporal). Server
 * certificates are issued when a container starts or certificates are rotated and go straight
 * into the container; no server key is kept here. A cluster made before TLS has no CA and runs
 * without TLS.
 */
import 'reflect-metadata';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as x509 from '@peculiar/x509';
import type { Paths } from '../common/paths';
import { tlsFilesIn, type ServerIdentity } from '../common/render/tls';
import type { FileToPut } from './docker';
import { insideHome } from './home-paths';
import { caCertPath, clusterHasTls, readCaCert, tlsDir } from './cluster-ca-files';

export { caCertPath, clusterHasTls, readCaCert };

x509.cryptoProvider.set(crypto.webcrypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
const CA_VALID_DAYS = 3650;
/** Browsers' limit; rotate-certs issues new ones at any time. */
const SERVER_VALID_DAYS = 397;
/** Container clocks are the host's, but allow for a host whose clock was just corrected. */
const BACKDATE_MS = 5 * 60 * 1000;

const caKeyPath = (paths: Paths, cluster: string): string => `${tlsDir(paths, cluster)}/ca.key`;

/** A positive serial of 16 random bytes (RFC 5280: at most 20 octets, positive). */
function newSerial(): string {
  const b = crypto.randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
}

function keyPem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * Make the cluster's CA unless it exists. Written into a private temporary directory renamed
 * into place, so of two attempts racing one CA stands, whole.
 */
export async function ensureClusterCa(paths: Paths, cluster: string): Promise<void> {
  const dir = tlsDir(paths, cluster);
  if (fs.existsSync(`${dir}/ca.crt`)) return;
  fs.mkdirSync(insideHome(paths, 'tls'), { recursive: true, mode: 0o755 });
  const keys = await crypto.webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=dbaas ${cluster} CA`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + CA_VALID_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const tmp = `${dir}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.mkdirSync(tmp, { mode: 0o755 });
  try {
    fs.writeFileSync(`${tmp}/ca.key`, keyPem(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
    fs.writeFileSync(`${tmp}/ca.crt`, ca.toString('pem'), { mode: 0o644 });
    fs.renameSync(tmp, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Another attempt's CA is in place: it stands.
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function deleteClusterTls(paths: Paths, cluster: string): void {
  fs.rmSync(tlsDir(paths, cluster), { recursive: true, force: true });
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** Hex, as `openssl x509 -serial` and node's getPeerCertificate().serialNumber print it. */
  serial: string;
}

/** A server certificate for the identity, signed by the cluster's CA; its key is new. */
export function issueServerCertificate(paths: Paths, cluster: string, id: ServerIdentity): Promise<IssuedCertificate> {
  return issueCertificate(paths, cluster, id, [x509.ExtendedKeyUsage.serverAuth]);
}

/** A certificate for the identity and purposes (extended key usages), signed by the cluster's CA; its key is new. */
export async function issueCertificate(paths: Paths, cluster: string, id: ServerIdentity, purposes: x509.ExtendedKeyUsageType[]): Promise<IssuedCertificate> {
  const ca = new x509.X509Certificate(readCaCert(paths, cluster));
  const caKey = await crypto.webcrypto.subtle.importKey(
    'pkcs8', x509.PemConverter.decode(fs.readFileSync(caKeyPath(paths, cluster), 'utf8'))[0], ALGORITHM, false, ['sign'],
  );
  const keys = await crypto.webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const serial = newSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${id.commonName}`,
    issuer: ca.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + SERVER_VALID_DAYS * DAY_MS),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(purposes),
      new x509.SubjectAlternativeNameExtension([
        ...id.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...id.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: keyPem(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), serial: serial.toUpperCase() };
}

/**
 * The files a container needs to serve TLS as `id`: a freshly issued certificate, its key
 * (0600, owned by the server's user: PostgreSQL refuses a key others can read) and the CA.
 */
export async function serverTlsFiles(paths: Paths, cluster: string, id: ServerIdentity, dir: string, uid: number): Promise<{ files: FileToPut[]; serial: string }> {
  const issued = await issueServerCertificate(paths, cluster, id);
  const names = tlsFilesIn(dir);
  const file = (path: string, content: string, mode: number): FileToPut => ({
    dir, name: path.slice(dir.length + 1), content, mode, uid, gid: uid,
  });
  return {
    // A reload between two writes (not ours: we signal after the last) would find a key that does
    // not match the certificate; PostgreSQL and PgBouncer then keep the pair they have.
    files: [
      file(names.key, issued.keyPem, 0o600),
      file(names.cert, issued.certPem, 0o644),
      file(names.ca, readCaCert(paths, cluster), 0o644),
    ],
    serial: issued.serial,
  };
}
