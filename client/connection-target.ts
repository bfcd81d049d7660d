/**
 * Which endpoint, role, database and password a client gets for a cluster and the flags of
 * `connect` and `psql`, and the TLS parameters: one place, so the URI `connect` prints and the
 * psql that `psql` starts reach the same server the same way.
 */
import { APP_DATABASE, APP_USER, DEFAULT_DATABASE, SUPERUSER } from '../common/service-users';
import { resolvePaths } from '../common/paths';
import { readClusterSecrets, storedRoleIn } from '../activities/secrets-file';
import type { ClusterPasswords } from '../common/render/patroni';
import { clientTlsParams, uriTlsQuery, type ClientTlsParams } from './client-tls';
import { requireLiveCluster, clusterPorts } from './cluster-info';
import { connectReadInventory } from './connections';
import { OperationError, UsageError } from './errors';

/** Seconds a client gives each front door of a multi-host URI before it tries the next (a lost host does not answer at all). */
export const MULTI_HOST_CONNECT_TIMEOUT_S = 3;

export interface EndpointFlags {
  ro: boolean;
  pooled: boolean;
  member?: string;
  /** The `postgres` superuser and database instead of the `app` role and database. */
  superuser: boolean;
  /** A role `dbaas user create` made (its stored password), instead of the `app` role. */
  user?: string;
  /** Another database than the role's own. */
  database?: string;
}

export interface ConnectionTarget extends ClientTlsParams {
  host: string;
  /**
   * Every front door when HAProxy runs on several hosts (`host` is the first); with
   * `readWrite`, libpq's target_session_attrs=read-write picks the writable server among them.
   */
  hosts?: string[];
  readWrite?: boolean;
  port: number;
  user: string;
  database: string;
  password: string;
}

/** Flags that cannot go together: refused before anything is contacted. */
export function checkEndpointFlags(o: EndpointFlags): void {
  if (o.member && (o.ro || o.pooled)) throw new UsageError('--member excludes --ro and --pooled');
  if (o.user !== undefined && o.superuser) throw new UsageError('--user excludes --superuser');
}

export async function resolveConnectionTarget(cluster: string, o: EndpointFlags): Promise<ConnectionTarget> {
  checkEndpointFlags(o);
  const inv = await connectReadInventory();
  const paths = resolvePaths();
  // Read while the name is checked (a name that is not a live cluster is refused first, with its own line).
  const reads = Promise.all([
    clusterPorts(inv, paths, cluster),
    o.member ? inv.members(cluster, { kind: 'postgres' }) : [],
    // A member's direct port is on 127.0.0.1 (only members on this machine have one); the rest at the front door.
    o.member ? ['127.0.0.1'] : inv.frontDoors(cluster),
  ]);
  reads.catch(() => undefined);
  await requireLiveCluster(inv, cluster);
  const [ports, postgresMembers, [host, ...more]] = await reads;
  if (!ports) throw new OperationError(`cluster ${cluster} has no endpoints yet (is it still being created?)`);
  let secrets: ClusterPasswords;
  try {
    secrets = readClusterSecrets(paths, cluster);
  } catch {
    throw new OperationError(`no credentials for cluster ${cluster} in ${paths.secrets}`);
  }
  const role = { ...chosenRole(cluster, secrets, o), ...(o.database ? { database: o.database } : {}) };
  let port = o.pooled ? (o.ro ? ports.pooledRo : ports.pooledRw) : o.ro ? ports.ro : ports.rw;
  if (o.member) {
    const m = postgresMembers.find((x) => x.name === o.member);
    if (!m) throw new UsageError(`no member ${o.member} in cluster ${cluster}`);
    if (m.portLabels.direct === undefined) throw new OperationError(`${o.member} has no direct port`);
    port = m.portLabels.direct;
  }
  const several = more.length > 0 ? { hosts: [host, ...more], readWrite: !o.ro } : {};
  return { host, port, ...several, ...role, ...clientTlsParams(paths, cluster) };
}

/** The superuser, the app role (the default), or a role `dbaas user create` made, with its database. */
function chosenRole(cluster: string, secrets: ClusterPasswords, o: EndpointFlags): { user: string; database: string; password: string } {
  if (o.superuser || o.user === SUPERUSER) return { user: SUPERUSER, database: DEFAULT_DATABASE, password: secrets.superuser };
  if (o.user === undefined || o.user === APP_USER) return { user: APP_USER, database: APP_DATABASE, password: secrets.app ?? noAppRole(cluster) };
  const stored = storedRoleIn(secrets, o.user);
  if (!stored) {
    throw new UsageError(`no stored password for role ${o.user} of cluster ${cluster} (\`dbaas user list ${cluster}\`; a role made outside dbaas: \`dbaas user rotate ${cluster} ${o.user}\` gives it one)`);
  }
  return { user: o.user, database: stored.database, password: stored.password };
}

function noAppRole(cluster: string): never {
  throw new UsageError(
    `cluster ${cluster} has no ${APP_USER} role yet (made before dbaas created one): \`dbaas cluster add-app-role ${cluster}\` adds it; --superuser connects as ${SUPERUSER}`,
  );
}

/** postgresql://user:password@host:port/database?sslmode=…[&sslrootcert=…] */
export function connectionUri(t: ConnectionTarget): string {
  const hosts = (t.hosts ?? [t.host]).map((h) => `${h}:${t.port}`).join(',');
  const rw = t.hosts ? `&connect_timeout=${MULTI_HOST_CONNECT_TIMEOUT_S}${t.readWrite ? '&target_session_attrs=read-write' : ''}` : '';
  return `postgresql://${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}@${hosts}/${encodeURIComponent(t.database)}?${uriTlsQuery(t)}${rw}`;
}
