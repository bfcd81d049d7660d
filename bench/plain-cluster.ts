/**
 * The plain side of the benchmarks: a Patroni cluster started by hand with `docker`, from the same
 * images and the same renderers (common/render) as dbaas. Two variants: the bare one (etcd,
 * Patroni, HAProxy; no WAL archiving, no pgBackRest repository or stanza, no poolers) and the
 * full one (`full`), which also has what dbaas's create makes: the repository volume mounted in
 * every Patroni node with pgbackrest.conf, WAL archiving into the stanza, and PgBouncer rw and ro
 * with their rendered configs (the stanza and the poolers' auth SQL are run by the bench). The
 * rendered configs name hosts
 * dbaas-<cluster>-<member>; the containers here are called <prefix>-<member> and answer to those
 * DNS names as network aliases on their own network <prefix>. Everything carries only the label
 * `dbaas-bench.plain=<prefix>`, so dbaas never sees it.
 *
 * The steps are separate so that each bench orders (and times) them as it needs.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { docker, leftovers, run } from './proc';
import { portBoundLocally } from '../activities/ports';
import { HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT } from '../common/service-ports';
import { IMAGES } from '../common/images';
import { PATRONI_NAMESPACE } from '../common/dcs-keys';
import { ETCD_ROOT_USER, POSTGRES_UID } from '../common/service-users';
import { containerName, networkName } from '../common/resource-names';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { HAPROXY_CONFIG_PATH, renderHaproxyConfig } from '../common/render/haproxy';
import { DATA_ROOT, PATRONI_CONFIG_PATH, renderPatroniConfig, type ClusterPasswords } from '../common/render/patroni';
import { DEFAULT_RETENTION, PGBACKREST_CONFIG_PATH, REPO_PATH, renderPgbackrestConfig } from '../common/render/pgbackrest';
import { PGBOUNCER_DIR, PGBOUNCER_PORT, renderPgbouncerIni, renderPgbouncerUserlist } from '../common/render/pgbouncer';
import { DEFAULT_CONNECTION_LIMITS, poolSizes } from '../common/pool-sizes';
import { PROFILES, etcdMemberNames, memberNames, type HaProfile, type ProfileName } from '../common/spec';

const PLAIN_LABEL = 'dbaas-bench.plain';
/** PgBouncer's limits as dbaas renders them for an unsized cluster (activities/pgbouncer.ts MAX_CLIENT_CONN, common/pool-sizes.ts). */
const POOLER_MAX_CLIENT_CONN = 2000;
const POOLER_POOLS = poolSizes(DEFAULT_CONNECTION_LIMITS);

/** One-file ustar archive, for `docker cp - CONTAINER:DIR` (keeps owner and mode as given). */
function tarOneFile(name: string, content: string, mode: number, uid: number, gid: number): Buffer {
  const data = Buffer.from(content, 'utf8');
  const h = Buffer.alloc(512, 0);
  const oct = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';
  h.write(name, 0, 100, 'utf8');
  h.write(oct(mode, 8), 100, 8, 'ascii');
  h.write(oct(uid, 8), 108, 8, 'ascii');
  h.write(oct(gid, 8), 116, 8, 'ascii');
  h.write(oct(data.length, 12), 124, 12, 'ascii');
  h.write(oct(Math.floor(Date.now() / 1000), 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512, 0);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024, 0)]);
}

async function freePortBlock(first: number, count: number): Promise<number> {
  for (let base = first; base + count < 65535; base += 16) {
    const bound = await Promise.all(Array.from({ length: count }, (_, d) => portBoundLocally(base + d)));
    if (!bound.some(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports on 127.0.0.1 from ${first}`);
}

export interface PlainPlan {
  prefix: string;
  /** The cluster name the configs are rendered for (the prefix). */
  cluster: string;
  /** The Docker network (the prefix). */
  network: string;
  profile: HaProfile;
  etcd: string[];
  members: string[];
  ctr(member: string): string;
  vol(member: string): string;
  /** Fresh random passwords (the superuser's is the one the benches connect with; never printed). */
  passwords: ClusterPasswords;
  /** HAProxy rw/ro/stats (and with `full`, PgBouncer rw/ro) host ports on 127.0.0.1, free when planned. */
  ports: { rw: number; ro: number; stats: number; pooledRw?: number; pooledRo?: number };
  /** The full variant: repository, WAL archiving, poolers (see the file's comment). */
  full?: boolean;
  /** The repository volume (full variant). */
  repo?: string;
  /** `docker run`/`create` options every container gets: name, network alias, `extraArgs`, label. */
  common(member: string): string[];
}

/**
 * Names, passwords and ports for a plain cluster of 1 etcd and 1 + `replicas` Patroni nodes.
 * `extraArgs` go on every container (e.g. a restart policy). Registers the prefix as a leftover.
 */
export async function planPlain(
  prefix: string, profileName: ProfileName, replicas: number, portFirst: number, extraArgs: string[] = [], opts: { full?: boolean } = {},
): Promise<PlainPlan> {
  const cluster = prefix;
  const network = prefix;
  const ctr = (m: string): string => `${prefix}-${m}`;
  const base = await freePortBlock(portFirst, opts.full ? 5 : 3);
  const plan: PlainPlan = {
    prefix, cluster, network,
    profile: PROFILES[profileName],
    etcd: etcdMemberNames(1),
    members: memberNames(replicas),
    ctr,
    vol: (m) => `${prefix}-${m}-data`,
    passwords: {
      superuser: crypto.randomBytes(24).toString('base64url'),
      replication: crypto.randomBytes(24).toString('base64url'),
      rewind: crypto.randomBytes(24).toString('base64url'),
      pooler: crypto.randomBytes(24).toString('base64url'),
    },
    ports: { rw: base, ro: base + 1, stats: base + 2, ...(opts.full ? { pooledRw: base + 3, pooledRo: base + 4 } : {}) },
    common: commonArgs(prefix, cluster, network, extraArgs),
    ...(opts.full ? { full: true, repo: `${prefix}-backup-repo` } : {}),
  };
  leftovers.add(`plain ${prefix}-*`);
  return plan;
}

/** `docker run`/`create` options: name <prefix>-<member>, the rendered host name as alias on `network`, the label. */
function commonArgs(prefix: string, cluster: string, network: string, extraArgs: string[] = []): (member: string) => string[] {
  return (m) => [
    '--name', `${prefix}-${m}`, '--hostname', containerName(cluster, m),
    '--network', network, '--network-alias', containerName(cluster, m),
    ...extraArgs, '--label', `${PLAIN_LABEL}=${prefix}`,
  ];
}

/**
 * One Patroni node started by hand into an existing dbaas cluster (its network, etcd and
 * passwords): what a person adding a replica without dbaas would run. Its container and volume
 * are <prefix>-<member>[-data] with the bench label only, so dbaas never counts them as members;
 * Patroni knows it as `member`. Remove it with removeJoined.
 */
export function planJoining(prefix: string, cluster: string, member: string, passwords: ClusterPasswords, profileName: ProfileName): PlainPlan {
  const network = networkName(cluster);
  return {
    prefix, cluster, network,
    profile: PROFILES[profileName],
    etcd: etcdMemberNames(1),
    members: [member],
    ctr: (m) => `${prefix}-${m}`,
    vol: (m) => `${prefix}-${m}-data`,
    passwords,
    ports: { rw: 0, ro: 0, stats: 0 },
    common: commonArgs(prefix, cluster, network),
  };
}

/**
 * Remove a node from planJoining: its container and volume, then its member key in etcd, so the
 * leader drops its replication slot and the name can be used again at once (not after ttl).
 */
export async function removeJoined(p: PlainPlan): Promise<void> {
  for (const m of p.members) {
    await run('docker', ['rm', '-f', p.ctr(m)]);
    await run('docker', ['volume', 'rm', '-f', p.vol(m)]);
    const key = `${PATRONI_NAMESPACE}${p.cluster}/members/${m}`;
    // As etcd's root when the cluster has etcd authentication: the credentials go through the
    // docker CLI's environment (`-e NAME` without a value), never on a command line.
    const auth = p.passwords.etcdRoot === undefined ? [] : ['-e', 'ETCDCTL_USER'];
    const env = p.passwords.etcdRoot === undefined ? undefined : { ...process.env, ETCDCTL_USER: `${ETCD_ROOT_USER}:${p.passwords.etcdRoot}` };
    const del = await run('docker', ['exec', ...auth, containerName(p.cluster, p.etcd[0]), 'etcdctl', 'del', key], undefined, env);
    if (del.code !== 0) throw new Error(`etcdctl del ${key} failed: ${del.stderr.trim()}`);
  }
}

/** The network, labelled like the containers. */
export const createPlainNetwork = (p: PlainPlan): Promise<string> =>
  docker(['network', 'create', '--label', `${PLAIN_LABEL}=${p.prefix}`, p.network]);

/** A labelled data volume for `member` (without it, `docker run -v` makes an unlabelled one). */
export const createPlainVolume = (p: PlainPlan, member: string): Promise<string> =>
  docker(['volume', 'create', '--label', `${PLAIN_LABEL}=${p.prefix}`, p.vol(member)]);

/** `docker run` one etcd member. */
export const runPlainEtcd = (p: PlainPlan, member: string): Promise<string> => docker([
  'run', '-d', ...p.common(member), '-v', `${p.vol(member)}:${ETCD_DATA_ROOT}`,
  IMAGES.etcd, ...renderEtcdArgs({ cluster: p.cluster, member, members: p.etcd }),
]);

/** `docker cp` one file into a (created) container, owner and mode as given. */
async function copyIn(ctr: string, filePath: string, content: string, mode: number, uid: number): Promise<void> {
  await docker(['cp', '-', `${ctr}:${path.posix.dirname(filePath)}`], tarOneFile(path.posix.basename(filePath), content, mode, uid, uid));
}

/** The full variant's pgBackRest repository volume, labelled like the rest (mounted by every Patroni node). */
export async function createPlainRepository(p: PlainPlan): Promise<void> {
  if (!p.repo) throw new Error('createPlainRepository: only for a full plan');
  await docker(['volume', 'create', '--label', `${PLAIN_LABEL}=${p.prefix}`, p.repo]);
}

/**
 * `docker create` one Patroni node and `docker cp` its patroni.yml in (uid 999, mode 0600); not
 * started. Full variant: the repository mounted, archiving on, and pgbackrest.conf (mode 0640) as
 * dbaas writes them.
 */
export async function createPlainPostgres(p: PlainPlan, member: string): Promise<void> {
  await docker([
    'create', ...p.common(member), '-v', `${p.vol(member)}:${DATA_ROOT}`, ...(p.repo ? ['-v', `${p.repo}:${REPO_PATH}`] : []),
    '--shm-size', '256m', '--stop-timeout', '40', IMAGES.postgres,
  ]);
  const yml = renderPatroniConfig({
    cluster: p.cluster, member, etcdMembers: p.etcd, profile: p.profile, sync: false,
    tags: { nofailover: false, noloadbalance: false }, passwords: p.passwords,
    // By hand as before TLS: the baselines compare orchestration, not encryption.
    tls: false,
    // The bare variant has no repository volume: WAL archiving would only fail.
    archive: p.full ?? false,
  });
  await copyIn(p.ctr(member), PATRONI_CONFIG_PATH, yml, 0o600, POSTGRES_UID);
  if (p.full) await copyIn(p.ctr(member), PGBACKREST_CONFIG_PATH, renderPgbackrestConfig({ stanza: p.cluster, repository: { type: 'volume', path: REPO_PATH }, retention: DEFAULT_RETENTION }), 0o640, POSTGRES_UID);
}

/** Full variant: `docker create` PgBouncer `kind` (rw → HAProxy rw, ro → ro) published on 127.0.0.1, and `docker cp` its ini and auth file in; not started. */
export async function createPlainPooler(p: PlainPlan, kind: 'rw' | 'ro'): Promise<string> {
  const port = kind === 'rw' ? p.ports.pooledRw : p.ports.pooledRo;
  if (!p.full || port === undefined) throw new Error('createPlainPooler: only for a full plan');
  const member = `pgbouncer-${kind}`;
  await docker(['create', ...p.common(member), '-p', `127.0.0.1:${port}:${PGBOUNCER_PORT}`, IMAGES.pgbouncer]);
  const ini = renderPgbouncerIni({
    cluster: p.cluster, backendPort: kind === 'rw' ? HAPROXY_RW_PORT : HAPROXY_RO_PORT, maxClientConn: POOLER_MAX_CLIENT_CONN, ...POOLER_POOLS, tls: false,
  });
  await copyIn(p.ctr(member), `${PGBOUNCER_DIR}/pgbouncer.ini`, ini, 0o600, POSTGRES_UID);
  await copyIn(p.ctr(member), `${PGBOUNCER_DIR}/userlist.txt`, renderPgbouncerUserlist(p.passwords.pooler), 0o600, POSTGRES_UID);
  return member;
}

/** Full variant: `stanza-create` then `check` (WAL reaches the repository) on the leader, as dbaas's createStanza. */
export async function createPlainStanza(p: PlainPlan, leader: string): Promise<void> {
  for (const cmd of ['stanza-create', 'check']) {
    await docker(['exec', '-u', 'postgres', p.ctr(leader), 'pgbackrest', `--stanza=${p.cluster}`, cmd]);
  }
}

/** `docker create` HAProxy with rw/ro/stats published on 127.0.0.1 and `docker cp` its haproxy.cfg in; not started. */
export async function createPlainHaproxy(p: PlainPlan): Promise<void> {
  await docker([
    'create', ...p.common('haproxy'),
    '-p', `127.0.0.1:${p.ports.rw}:${HAPROXY_RW_PORT}`,
    '-p', `127.0.0.1:${p.ports.ro}:${HAPROXY_RO_PORT}`,
    '-p', `127.0.0.1:${p.ports.stats}:${HAPROXY_STATS_PORT}`,
    IMAGES.haproxy,
  ]);
  const cfg = renderHaproxyConfig({ cluster: p.cluster, members: p.members, checks: p.profile.haproxy });
  await docker(['cp', '-', `${p.ctr('haproxy')}:${path.posix.dirname(HAPROXY_CONFIG_PATH)}`],
    tarOneFile(path.posix.basename(HAPROXY_CONFIG_PATH), cfg, 0o644, 0, 0));
}

/**
 * Remove everything of the plain cluster: its containers (by label), its volumes (the planned
 * ones and any other named <prefix>-*), then its network; throws if anything is left. Clears the
 * leftover.
 */
export async function removePlain(p: PlainPlan): Promise<void> {
  const { prefix, network } = p;
  const ids = (await run('docker', ['ps', '-aq', '--filter', `label=${PLAIN_LABEL}=${prefix}`])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
  // By name too: volumes are named <prefix>-*, labelled (createPlainVolume) or not (`docker run -v`).
  const named = (await run('docker', ['volume', 'ls', '-q', '--filter', `name=${prefix}-`])).stdout.split('\n').filter(Boolean);
  const volumes = [...new Set([...[...p.etcd, ...p.members].map(p.vol), ...named.filter((v) => v.startsWith(`${prefix}-`))])];
  if (volumes.length > 0) await run('docker', ['volume', 'rm', '-f', ...volumes]);
  await run('docker', ['network', 'rm', network]);
  const left = (await run('docker', ['ps', '-aq', '--filter', `label=${PLAIN_LABEL}=${prefix}`])).stdout.trim();
  const netLeft = (await run('docker', ['network', 'ls', '-q', '--filter', `name=^${network}$`])).stdout.trim();
  if (left || netLeft) throw new Error(`cleanup of ${prefix} left containers [${left}] network [${netLeft}]`);
  leftovers.delete(`plain ${prefix}-*`);
}
