/**
 * Pooled endpoints: one PgBouncer (transaction pooling) in front of HAProxy rw and one in front
 * of ro. Clients authenticate with their own database passwords through auth_query.
 */
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { HAPROXY_RO_PORT, HAPROXY_RW_PORT } from '../common/service-ports';
import { IMAGES } from '../common/images';
import { labels } from '../common/labels';
import { containerName, networkName } from '../common/resource-names';
import {
  PGBOUNCER_DIR, PGBOUNCER_PORT, poolerAuthSql, renderPgbouncerIni, renderPgbouncerUserlist, POOLER_AUTH_USER,
} from '../common/render/pgbouncer';
import type { ClusterPorts } from '../common/spec';
import { ensureContainerRunning, isNotFound, type FileToPut } from './docker';
import { clusterHasTls, serverTlsFiles } from './cluster-tls';
import { poolerIdentity } from '../common/render/tls';
import { hostAddresses } from './hosts/registry';
import { pollUntil } from './heartbeat';
import { setRolePassword } from './role-password';
import { readClusterSecrets } from './secrets';
import { scramSha256Verifier } from './scram';
import { withClient } from './sql';

/** uid of postgres (pgbouncer runs as postgres) in docker/pgbouncer/Dockerfile. */
const PGBOUNCER_UID = 999;
/** Server connections per pool; rw and ro each stay well under max_connections (100). */
const POOL_SIZE = 40;
const MAX_CLIENT_CONN = 2000;

export type PoolKind = 'rw' | 'ro';

/** A new server certificate for the pooler, its key and the CA, for /etc/pgbouncer. */
export function poolerTlsFiles(paths: Paths, cluster: string, member: string): Promise<{ files: FileToPut[]; serial: string }> {
  return serverTlsFiles(paths, cluster, poolerIdentity(cluster, member, hostAddresses(paths)), PGBOUNCER_DIR, PGBOUNCER_UID);
}

export const poolerMember = (kind: PoolKind): string => `pgbouncer-${kind}`;

/** pgbouncer.ini and the auth file of one pooler (0600, owned by pgbouncer's user). */
export function poolerConfigFiles(paths: Paths, cluster: string, kind: PoolKind): FileToPut[] {
  const ini = renderPgbouncerIni({
    cluster,
    backendPort: kind === 'rw' ? HAPROXY_RW_PORT : HAPROXY_RO_PORT,
    maxClientConn: MAX_CLIENT_CONN,
    defaultPoolSize: POOL_SIZE,
    tls: clusterHasTls(paths, cluster),
  });
  const secrets = readClusterSecrets(paths, cluster);
  const userlist = renderPgbouncerUserlist(secrets.pooler, secrets.monitor ? scramSha256Verifier(secrets.monitor) : undefined);
  const file = (name: string, content: string): FileToPut => ({ dir: PGBOUNCER_DIR, name, content, mode: 0o600, uid: PGBOUNCER_UID, gid: PGBOUNCER_UID });
  return [file('pgbouncer.ini', ini), file('userlist.txt', userlist)];
}

export function createPgbouncerActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    /** The pooler containers the cluster has now (pgbouncer-rw, pgbouncer-ro). */
    async poolerContainers(cluster: string): Promise<string[]> {
      return inv.memberNames(cluster, { kind: 'pgbouncer' });
    },

    /** Remove pooler containers (compensation of a failed AddPoolers). */
    async removePoolers(i: { cluster: string; members: string[] }): Promise<void> {
      for (const m of i.members) {
        try {
          await docker.getContainer(containerName(i.cluster, m)).remove({ force: true });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    },

    /**
     * The auth_query user and the SECURITY DEFINER lookup over pg_authid, created through rw, in
     * every database clients may log in to: PgBouncer 1.18 runs auth_query in the database the
     * client asks for (auth_dbname comes with 1.20), so each database needs the function (`app`,
     * and those `db create` makes or users made by hand).
     */
    async ensurePoolerAuth(i: { cluster: string; rwPort: number }): Promise<void> {
      const secrets = readClusterSecrets(paths, i.cluster);
      const at = await inv.frontDoorAt(i.cluster, i.rwPort);
      const others = await withClient(paths, i.cluster, at, async (c) => {
        for (const sql of poolerAuthSql()) await c.query(sql);
        // From a verifier computed here: the plaintext never reaches the server or its log.
        await setRolePassword(c, POOLER_AUTH_USER, secrets.pooler);
        const r = await c.query<{ name: string }>('select datname as name from pg_database where datallowconn and not datistemplate and datname <> current_database() order by datname');
        return r.rows.map((x) => x.name);
      });
      for (const database of others) {
        await withClient(paths, i.cluster, at, async (c) => {
          for (const sql of poolerAuthSql()) await c.query(sql);
        }, { database });
      }
    },

    /** `publishOn`: the address of the added host it runs on (its pooled port is published there, not on 127.0.0.1). */
    async startPgbouncer(i: { cluster: string; kind: PoolKind; ports: ClusterPorts; publishOn?: string }): Promise<void> {
      const member = poolerMember(i.kind);
      const hostPort = i.kind === 'rw' ? i.ports.pooledRw : i.ports.pooledRo;
      await ensureContainerRunning(docker, {
        name: containerName(i.cluster, member),
        labels: labels(i.cluster, 'pgbouncer', member),
        create: {
          Image: IMAGES.pgbouncer,
          Hostname: containerName(i.cluster, member),
          ExposedPorts: { [`${PGBOUNCER_PORT}/tcp`]: {} },
          HostConfig: {
            NetworkMode: networkName(i.cluster),
            RestartPolicy: { Name: 'unless-stopped' },
            PortBindings: { [`${PGBOUNCER_PORT}/tcp`]: [{ HostIp: i.publishOn ?? '127.0.0.1', HostPort: String(hostPort) }] },
          },
        },
        files: [
          ...poolerConfigFiles(paths, i.cluster, i.kind),
          ...(clusterHasTls(paths, i.cluster) ? (await poolerTlsFiles(paths, i.cluster, member)).files : []),
        ],
      });
    },

    /** A query through each pooled endpoint succeeds (auth_query and the backend both work). */
    async verifyPooledEndpoints(i: { cluster: string; ports: ClusterPorts; withReplicas?: boolean }): Promise<void> {
      // Without replicas HAProxy ro has no server, so the pooled ro endpoint has nothing to reach yet.
      const endpoints: [string, number][] = [['rw', i.ports.pooledRw], ...(i.withReplicas === false ? [] : [['ro', i.ports.pooledRo] as [string, number]])];
      for (const [kind, port] of endpoints) {
        await pollUntil<true>(
          `a query through the pooled ${kind} endpoint`,
          async () => {
            await withClient(paths, i.cluster, await inv.frontDoorAt(i.cluster, port), (c) => c.query('select 1'), { pooled: true });
            return { done: true };
          },
          { intervalMs: 250, timeoutMs: 30_000 },
        );
      }
    },
  };
}
