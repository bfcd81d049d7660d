/**
 * Where a container finds its TLS files, and which names its server certificate is valid for.
 * Pure: renderers and the certificate issuer both read it.
 */
import { HAPROXY_MEMBER, containerName } from '../resource-names';

export interface TlsFileNames {
  cert: string;
  key: string;
  ca: string;
}

/** Beside the config that names them (the directories exist in the images). */
export function tlsFilesIn(dir: string): TlsFileNames {
  return { cert: `${dir}/server.crt`, key: `${dir}/server.key`, ca: `${dir}/ca.crt` };
}

export interface ServerIdentity {
  commonName: string;
  dnsNames: string[];
  ips: string[];
}

/**
 * A PostgreSQL member is reached by its container name (Patroni, replicas, pg_rewind), through
 * HAProxy by the HAProxy container's name (PgBouncer's server connections, verify-full) and
 * from the control host at 127.0.0.1 (published ports, also through HAProxy's passthrough), or at
 * the address of an added host (`hostAddresses`: its published ports, its HAProxy).
 */
export function memberIdentity(cluster: string, member: string, hostAddresses: readonly string[] = []): ServerIdentity {
  const name = containerName(cluster, member);
  return { commonName: name, dnsNames: [name, member, containerName(cluster, HAPROXY_MEMBER), 'localhost'], ips: ['127.0.0.1', ...hostAddresses] };
}

/** A PgBouncer endpoint is reached only through its published port: on 127.0.0.1, or on an added host's address. */
export function poolerIdentity(cluster: string, member: string, hostAddresses: readonly string[] = []): ServerIdentity {
  const name = containerName(cluster, member);
  return { commonName: name, dnsNames: [name, 'localhost'], ips: ['127.0.0.1', ...hostAddresses] };
}
