/**
 * Pooled endpoints: one PgBouncer (transaction pooling) in front of HAProxy rw and one in front
 * of ro. Clients authenticate with their own database passwords through auth_query. Their pools
 * are sized from the cluster's max_connections (common/pool-sizes.ts): at the start from the
 * workflow's sizes, later re-sized from what the leader runs once a resize, a parameter change or
 * a restart changed it.
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
import { DEFAULT_CONNECTION_LIMITS, connectionLimits, poolSizes, type ConnectionLimits, type PoolSizes } from '../common/pool-sizes';
import { settingsToRead } from '../common/set-parameters';
import { ensureContainerRunning, isNotFound, readFileIn, tarOf, type FileToPut } from './docker';
import { readDcsConfig } from './dcs-config';
import { dcsParameters, leaderSettings } from './parameters';
import { clusterHasTls, serverTlsFiles } from './cluster-tls';
import { poolerIdentity } from '../common/render/tls';
import { poolerHostAlias } from '../common/render/metrics';
import { hostAddresses } from './hosts/registry';
import { pollUntil } from './heartbeat';
import { setRolePassword } from './role-password';
import { readClusterSecrets } from './secrets';
import { scramSha256Verifier } from './scram';
import { withClient } from './sql';

/** uid of postgres (pgbouncer runs as postgres) in docker/pgbouncer/Dockerfile. */
const PGBOUNCER_UID = 999;
const MAX_CLIENT_CONN = 2000;
const INI = 'pgbouncer.ini';

export type PoolKind = 'rw' | 'ro';

/** A new server certificate for the pooler, its key and the CA, for /etc/pgbouncer. */
export function poolerTlsFiles(paths: Paths, cluster: string, member: string): Promise<{ files: FileToPut[]; serial: string }> {
  return serverTlsFiles(paths, cluster, poolerIdentity(cluster, member, hostAddresses(paths)), PGBOUNCER_DIR, PGBOUNCER_UID);
}

export const poolerMember = (kind: PoolKind): string => `pgbouncer-${kind}`;

const poolerFile = (name: string, content: string): FileToPut => ({ dir: PGBOUNCER_DIR, name, content, mode: 0o600, uid: PGBOUNCER_UID, gid: PGBOUNCER_UID });

function poolerIni(paths: Paths, cluster: string, kind: PoolKind, pool: PoolSizes): string {
  return renderPgbouncerIni({
    cluster,
    backendPort: kind === 'rw' ? HAPROXY_RW_PORT : HAPROXY_RO_PORT,
    maxClientConn: MAX_CLIENT_CONN,
    ...pool,
    tls: clusterHasTls(paths, cluster),
  });
}

/** pgbouncer.ini and the auth file of one pooler (0600, owned by pgbouncer's user). */
export function poolerConfigFiles(paths: Paths, cluster: string, kind: PoolKind, pool: PoolSizes): FileToPut[] {
  const secrets = readClusterSecrets(paths, cluster);
  const userlist = renderPgbouncerUserlist(secrets.pooler, secrets.monitor ? scramSha256Verifier(secrets.monitor) : undefined);
  return [poolerFile(INI, poolerIni(paths, cluster, kind, pool)), poolerFile('userlist.txt', userlist)];
}

export interface PoolerSizes {
  limits: ConnectionLimits;
  pool: PoolSizes;
}

export interface PoolersResized extends PoolerSizes {
  /** Pooler containers given the new sizes and reloaded (none when they had them). */
  reloaded: string[];
}

export function createPgbouncerActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  /** The connection slots the leader runs (max_connections, or the DCS's lower value waiting for a restart) and the pools for them. */
  const sizesNow = async (cluster: string): Promise<PoolerSizes> => {
    const { leader, settings } = await leaderSettings(inv, cluster, settingsToRead([]));
    const dcs = await readDcsConfig(inv, cluster, [leader]);
    const limits = connectionLimits(settings, dcs ? dcsParameters(dcs.config).max_connections : undefined);
    return { limits, pool: poolSizes(limits) };
  };
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

    /**
     * `publishOn`: the address of the added host it runs on (its pooled port is published there, not
     * on 127.0.0.1). `pool`: sized by the workflow (a create from the cluster's size, a front door
     * beside a running cluster from poolerSizes); absent, for the default max_connections
     * (resizePoolers sizes them from what the leader runs).
     */
    async startPgbouncer(i: { cluster: string; kind: PoolKind; ports: ClusterPorts; publishOn?: string; pool?: PoolSizes }): Promise<void> {
      const member = poolerMember(i.kind);
      const hostPort = i.kind === 'rw' ? i.ports.pooledRw : i.ports.pooledRo;
      // On an added host: the name the metrics container beside it probes it by.
      const alias = poolerHostAlias(i.cluster, member, inv.own);
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
          ...(alias ? { NetworkingConfig: { EndpointsConfig: { [networkName(i.cluster)]: { Aliases: [alias] } } } } : {}),
        },
        files: [
          ...poolerConfigFiles(paths, i.cluster, i.kind, i.pool ?? poolSizes(DEFAULT_CONNECTION_LIMITS)),
          ...(clusterHasTls(paths, i.cluster) ? (await poolerTlsFiles(paths, i.cluster, member)).files : []),
        ],
      });
    },

    /**
     * The pool sizes for what the leader runs now (as resizePoolers sizes them), for poolers about
     * to start beside a running cluster: the front door a drain or a lost host's replacement opens.
     */
    async poolerSizes(cluster: string): Promise<PoolerSizes> {
      return sizesNow(cluster);
    },

    /**
     * The poolers' pools sized for the connection slots the leader runs (max_connections, or the
     * DCS's lower value waiting for a restart): a pooler whose pgbouncer.ini differs gets the new
     * one and a SIGHUP (PgBouncer reloads the pool sizes and closes idle server connections over
     * the new size; client sessions stay). Idempotent: a retry finds the file current. A stopped
     * pooler gets the file only (it reads it when it starts).
     */
    async resizePoolers(cluster: string): Promise<PoolersResized> {
      const { limits, pool } = await sizesNow(cluster);
      const reloaded: string[] = [];
      for (const m of await inv.members(cluster, { kind: 'pgbouncer' })) {
        const kind: PoolKind | undefined = m.name === poolerMember('rw') ? 'rw' : m.name === poolerMember('ro') ? 'ro' : undefined;
        if (!kind) continue;
        const engine = inv.engine(m.host);
        const ini = poolerIni(paths, cluster, kind, pool);
        if ((await readFileIn(engine, m.container, `${PGBOUNCER_DIR}/${INI}`)) === ini) continue;
        await engine.getContainer(m.container).putArchive(await tarOf(poolerFile(INI, ini)), { path: PGBOUNCER_DIR });
        // tini (PID 1) passes SIGHUP on to pgbouncer, which reloads its config.
        if (m.state === 'running') await engine.getContainer(m.container).kill({ signal: 'SIGHUP' });
        reloaded.push(m.host === inv.own ? m.name : `${m.name} on ${m.host}`);
      }
      return { limits, pool, reloaded };
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
