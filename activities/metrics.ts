/**
 * The exporters of a cluster: the monitor role (pg_monitor only), a stats user on the poolers'
 * console, and the metrics container beside each HAProxy (docker/metrics: Debian's
 * prometheus-postgres-exporter and prometheus-pgbouncer-exporter behind one /probe port). The
 * password reaches the container as 0600 files; never an argument, an environment value or a log.
 */
import type Docker from 'dockerode';
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { IMAGES } from '../common/images';
import { labels } from '../common/labels';
import { containerName, networkName } from '../common/resource-names';
import { MONITOR_USER } from '../common/service-users';
import {
  METRICS_DIR, METRICS_FILES, METRICS_MEMBER, METRICS_PORT, METRICS_UID, monitorRoleSql, poolerHostAlias, renderPgpass, renderProbeConfig,
} from '../common/render/metrics';
import type { HostName } from '../common/inventory';
import { ensureContainerRunning, isNotFound, putFiles, readFileIn, type FileToPut } from './docker';
import { DEFAULT_CONNECTION_LIMITS, poolSizes, poolSizesOfIni } from '../common/pool-sizes';
import { PGBOUNCER_DIR } from '../common/render/pgbouncer';
import { clusterHasTls, readCaCert } from './cluster-tls';
import { ErrorTypes, finalError } from './errors';
import { pollUntil } from './heartbeat';
import { poolerConfigFiles, poolerMember, type PoolKind } from './pgbouncer';
import { setRolePassword } from './role-password';
import { readClusterSecrets } from './secrets';
import { withClient } from './sql';

/** The monitor password of a cluster; its secrets file gets one from ensureClusterSecrets. */
function monitorPassword(paths: Paths, cluster: string): string {
  const password = readClusterSecrets(paths, cluster).monitor;
  if (!password) throw finalError(ErrorTypes.SecretsMissing, `cluster ${cluster} has no monitor password in ${paths.secrets}`);
  return password;
}

/**
 * What the metrics container reads: its config, the password (twice: each exporter has its own way)
 * and the CA. `poolerAliases`: the poolers beside it that answer to their host alias.
 */
export function metricsFiles(paths: Paths, cluster: string, poolerAliases?: Record<string, string>): FileToPut[] {
  const tls = clusterHasTls(paths, cluster);
  const password = monitorPassword(paths, cluster);
  const file = (path: string, content: string, mode: number): FileToPut => ({
    dir: METRICS_DIR, name: path.slice(METRICS_DIR.length + 1), content, mode, uid: METRICS_UID, gid: METRICS_UID,
  });
  return [
    file(METRICS_FILES.config, renderProbeConfig({ cluster, tls, ...(poolerAliases ? { poolerAliases } : {}) }), 0o644),
    file(METRICS_FILES.password, `${password}\n`, 0o600),
    file(METRICS_FILES.pgpass, renderPgpass(password), 0o600),
    ...(tls ? [file(METRICS_FILES.ca, readCaCert(paths, cluster), 0o644)] : []),
  ];
}

/**
 * pgbouncer-rw|ro → host alias, for each pooler of this host that answers to its alias (one made
 * on an added host since poolers have one). A pooler made before keeps being probed by its
 * container's name; one not there yet (a door whose poolers start beside the container, in a
 * history from before) too.
 */
async function poolerAliasesOn(docker: Docker, cluster: string, host: HostName): Promise<Record<string, string>> {
  const aliases: Record<string, string> = {};
  for (const kind of ['rw', 'ro'] as PoolKind[]) {
    const member = poolerMember(kind);
    const alias = poolerHostAlias(cluster, member, host);
    if (!alias) continue;
    try {
      const info = await docker.getContainer(containerName(cluster, member)).inspect();
      if (info.NetworkSettings.Networks[networkName(cluster)]?.Aliases?.includes(alias)) aliases[member] = alias;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return aliases;
}

export function createMetricsActivities(inv: Inventory, paths: Paths) {
  return {
    /**
     * The monitor role with the cluster's monitor password, through rw; then a login as it, which
     * proves the password. A restored cluster holds the source's role: it gets this cluster's password.
     */
    async ensureMonitorRole(i: { cluster: string; rwPort: number }): Promise<{ password: 'set' | 'unchanged' }> {
      const password = monitorPassword(paths, i.cluster);
      const at = await inv.frontDoorAt(i.cluster, i.rwPort);
      const set = await withClient(paths, i.cluster, at, async (c) => {
        for (const sql of monitorRoleSql()) await c.query(sql);
        return setRolePassword(c, MONITOR_USER, password);
      });
      await withClient(paths, i.cluster, at, (c) => c.query('select 1'), { login: { user: MONITOR_USER, password } });
      return { password: set };
    },

    /**
     * The running poolers of this host get the monitor role as a stats user (pgbouncer.ini and the
     * auth file rewritten, SIGHUP: PgBouncer reloads both). For poolers started before the cluster
     * had a monitor password; a pooler started later renders them so itself.
     */
    async addPoolerStatsUser(cluster: string): Promise<string[]> {
      const docker = inv.engine();
      const reloaded: string[] = [];
      for (const kind of ['rw', 'ro'] as PoolKind[]) {
        const container = docker.getContainer(containerName(cluster, poolerMember(kind)));
        try {
          if (!(await container.inspect()).State.Running) continue;
          // Its pools keep their sizes (resizePoolers set them from the leader's max_connections).
          const current = await readFileIn(docker, containerName(cluster, poolerMember(kind)), `${PGBOUNCER_DIR}/pgbouncer.ini`);
          const pool = poolSizesOfIni(current ?? '') ?? poolSizes(DEFAULT_CONNECTION_LIMITS);
          await putFiles(container, poolerConfigFiles(paths, cluster, kind, pool));
          // tini (PID 1) passes SIGHUP on to pgbouncer.
          await container.kill({ signal: 'SIGHUP' });
          reloaded.push(poolerMember(kind));
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return reloaded;
    },

    /**
     * `publishOn`: the address of the added host it runs on; here its port is published on 127.0.0.1
     * (Docker picks the port). It probes the poolers of its own front door: start it after them.
     */
    async startMetrics(i: { cluster: string; publishOn?: string }): Promise<{ created: boolean }> {
      const name = containerName(i.cluster, METRICS_MEMBER);
      const r = await ensureContainerRunning(inv.engine(), {
        name,
        labels: labels(i.cluster, 'metrics', METRICS_MEMBER),
        create: {
          Image: IMAGES.metrics,
          Hostname: name,
          ExposedPorts: { [`${METRICS_PORT}/tcp`]: {} },
          HostConfig: {
            NetworkMode: networkName(i.cluster),
            RestartPolicy: { Name: 'unless-stopped' },
            PortBindings: { [`${METRICS_PORT}/tcp`]: [{ HostIp: i.publishOn ?? '127.0.0.1', HostPort: '' }] },
          },
        },
        files: metricsFiles(paths, i.cluster, await poolerAliasesOn(inv.engine(), i.cluster, inv.own)),
      });
      return { created: r.created };
    },

    /** The hosts that run a metrics container of the cluster (a new front door gets one when the others have it). */
    async metricsHosts(cluster: string): Promise<HostName[]> {
      return [...new Set((await inv.members(cluster, { kind: 'metrics' })).map((m) => m.host))].sort();
    },

    /** Remove the cluster's metrics containers on these hosts (compensation of a failed AddMetrics). */
    async removeMetrics(i: { cluster: string; hosts: HostName[] }): Promise<void> {
      for (const h of i.hosts) {
        try {
          await inv.engine(h).getContainer(containerName(i.cluster, METRICS_MEMBER)).remove({ force: true });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    },

    /**
     * Every metrics container answers a probe of `member` with pg_up 1 (the role, its password and
     * TLS all work), and of its poolers, when the cluster has them, with their metrics.
     */
    async verifyMetrics(i: { cluster: string; member: string }): Promise<void> {
      const containers = await inv.members(i.cluster, { kind: 'metrics' });
      const poolers = (await inv.members(i.cluster, { kind: 'pgbouncer' })).length > 0;
      if (containers.length === 0) throw new Error(`cluster ${i.cluster} has no metrics container`);
      const checks: [string, RegExp][] = [[i.member, /^pg_up 1$/m], ...(poolers ? [['pgbouncer-rw', /^pgbouncer_used_clients /m] as [string, RegExp]] : [])];
      // Every probe at once: each target's first one starts its exporter process (~0.5 s).
      await Promise.all(containers.flatMap((m) => checks.map(([target, expected]) =>
        pollUntil(
          `${target}'s metrics through ${m.container}`,
          async () => {
            const at = inv.endpoint(m, METRICS_PORT);
            if (!at) return { status: `${m.container} is not running` };
            const r = await fetch(`http://${at.host}:${at.port}/probe?target=${target}`, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => err);
            if (r instanceof Error) return { status: r.message };
            const text = await r.text();
            return r.ok && expected.test(text) ? { done: true } : { status: `HTTP ${r.status}: ${text.split('\n')[0].slice(0, 200)}` };
          },
          { intervalMs: 250, timeoutMs: 60_000 },
        ))));
    },
  };
}
