/**
 * The plain side of the benchmarks: a Patroni cluster started by hand with `docker`, from the same
 * images and the same rendered configs (common/render) as dbaas. The rendered configs name hosts
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
import { HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT, IMAGES, containerName } from '../common/names';
import { ETCD_DATA_ROOT, renderEtcdArgs } from '../common/render/etcd';
import { HAPROXY_CONFIG_PATH, renderHaproxyConfig } from '../common/render/haproxy';
import { DATA_ROOT, PATRONI_CONFIG_PATH, renderPatroniConfig, type ClusterPasswords } from '../common/render/patroni';
import { PROFILES, etcdMemberNames, memberNames, type HaProfile, type ProfileName } from '../common/spec';

const PLAIN_LABEL = 'dbaas-bench.plain';
/** uid/gid of postgres in docker/postgres/Dockerfile. */
const POSTGRES_UID = 999;

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

async function freePortBlock(first: number): Promise<number> {
  for (let base = first; base + 3 < 65535; base += 16) {
    const bound = await Promise.all([0, 1, 2].map((d) => portBoundLocally(base + d)));
    if (!bound.some(Boolean)) return base;
  }
  throw new Error(`no 3 free consecutive ports on 127.0.0.1 from ${first}`);
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
  /** HAProxy rw/ro/stats host ports on 127.0.0.1, free when planned. */
  ports: { rw: number; ro: number; stats: number };
  /** `docker run`/`create` options every container gets: name, network alias, `extraArgs`, label. */
  common(member: string): string[];
}

/**
 * Names, passwords and ports for a plain cluster of 1 etcd and 1 + `replicas` Patroni nodes.
 * `extraArgs` go on every container (e.g. a restart policy). Registers the prefix as a leftover.
 */
export async function planPlain(
  prefix: string, profileName: ProfileName, replicas: number, portFirst: number, extraArgs: string[] = [],
): Promise<PlainPlan> {
  const cluster = prefix;
  const network = prefix;
  const ctr = (m: string): string => `${prefix}-${m}`;
  const base = await freePortBlock(portFirst);
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
    ports: { rw: base, ro: base + 1, stats: base + 2 },
    common: (m) => [
      '--name', ctr(m), '--hostname', containerName(cluster, m),
      '--network', network, '--network-alias', containerName(cluster, m),
      ...extraArgs, '--label', `${PLAIN_LABEL}=${prefix}`,
    ],
  };
  leftovers.add(`plain ${prefix}-*`);
  return plan;
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

/** `docker create` one Patroni node and `docker cp` its patroni.yml in (uid 999, mode 0600); not started. */
export async function createPlainPostgres(p: PlainPlan, member: string): Promise<void> {
  await docker([
    'create', ...p.common(member), '-v', `${p.vol(member)}:${DATA_ROOT}`, '--shm-size', '256m', '--stop-timeout', '40',
    IMAGES.postgres,
  ]);
  const yml = renderPatroniConfig({
    cluster: p.cluster, member, etcdMembers: p.etcd, profile: p.profile, sync: false,
    tags: { nofailover: false, noloadbalance: false }, passwords: p.passwords,
    // Plain has no repository volume: WAL archiving would only fail.
    archive: false,
  });
  await docker(['cp', '-', `${p.ctr(member)}:${path.posix.dirname(PATRONI_CONFIG_PATH)}`],
    tarOneFile(path.posix.basename(PATRONI_CONFIG_PATH), yml, 0o600, POSTGRES_UID, POSTGRES_UID));
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
