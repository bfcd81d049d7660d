/** Patroni members: container + volume + patroni.yml, and waits on Patroni's REST API. */
import * as path from 'node:path';
import type { Inventory } from './hosts/inventory';
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';
import { memberImage } from './member-image';
import { dockerLimits } from '../common/sizes';
import { LABEL_NOFAILOVER, LABEL_PORT_PREFIX, LABEL_SPEC, labels, LABEL_REPOSITORY } from '../common/labels';
import { POSTGRES_UID } from '../common/service-users';
import { PATRONI_API_PORT, PG_PORT } from '../common/service-ports';
import { containerName, networkName, repositoryVolumeName, volumeName } from '../common/resource-names';
import { PATRONI_CONFIG_PATH, DATA_DIR, DATA_ROOT, MEMBER_TLS, renderPatroniConfig } from '../common/render/patroni';
import { memberIdentity } from '../common/render/tls';
import { clusterHasTls, serverTlsFiles } from './cluster-tls';
import { memberRepositoryAccess } from './repository-access';
import { connectToCluster } from './repository-host/host';
import { memberBackupServer } from './backup-server';
import { PROFILES, etcdMemberNames, profileTiming, type ClusterSettings, type ClusterSpec } from '../common/spec';
import { ensureContainerRunning, ensureVolume, isNotFound, removeIfLayoutDiffers, stopAndRemoveContainer, type ContainerWanted, type FileToPut } from './docker';
import { dataProgress } from './data-progress';
import { publishedOn } from './hosts/published-ports';
import { hostAddresses } from './hosts/registry';
import { pollUntil, pollWhileProgressing } from './heartbeat';
import { clusterView, getPatroni, memberApi, wakeHaLoop, type ClusterMember } from './patroni-api';

export { clusterView, memberApi };
import { clusterAccess } from './cluster-access';
import { readClusterSecrets } from './secrets';
import { versionOf } from '../common/postgres-version';
import { generationLabels } from '../common/generations';
import { servingGeneration } from './generations-file';

export { POSTGRES_UID };
/** Longer than Patroni's own shutdown of PostgreSQL, so it can release the leader key. */
export const POSTGRES_STOP_TIMEOUT_SEC = 40;

/** Patroni 3.0.2 states that mean the node holds the initialize key or has data of its own. */
const BOOTSTRAP_CLAIMED_STATES = new Set(['initializing new cluster', 'running custom bootstrap script', 'starting', 'running']);

export interface PostgresMemberInput {
  spec: ClusterSpec;
  member: string;
  nofailover?: boolean;
  noloadbalance?: boolean;
  /** Host port on 127.0.0.1 published to this member's PostgreSQL (direct endpoint). */
  directPort?: number;
  /** The address of the added host it runs on: PostgreSQL and Patroni's API are published there. */
  publishOn?: string;
  /** Its generation (common/generations.ts); absent: 1. A later one is its own Patroni cluster beside the serving one. */
  generation?: number;
  /** A blue/green upgrade's next generation: archive_command discards the WAL until the cutover (common/render/patroni.ts). */
  holdArchive?: boolean;
}

export interface WaitLeaderInput {
  cluster: string;
  members: string[];
}

export interface WaitStreamingInput {
  cluster: string;
  member: string;
  /** All members of the cluster, to find one whose API answers. */
  members: string[];
  /** Largest lag in bytes that counts as caught up. */
  maxLagBytes: number;
  /** How long the clone, then the WAL received and replayed, may stand still before the wait fails (default 5 min). */
  stallMs?: number;
}

/** The member leading among `members` now, by Patroni's view (undefined: none leads). */
export async function leaderAmong(inv: Inventory, cluster: string, members: string[]): Promise<string | undefined> {
  return (await clusterView(inv, cluster, members))?.find((m) => m.role === 'leader')?.name;
}

function describe(members: ClusterMember[]): string {
  return members.map((m) => `${m.name}=${m.role}/${m.state}`).join(' ') || 'no members registered';
}

/** A new server certificate for the member, its key and the CA, for /etc/patroni. */
export function memberTlsFiles(paths: Paths, cluster: string, member: string): Promise<{ files: FileToPut[]; serial: string }> {
  return serverTlsFiles(paths, cluster, memberIdentity(cluster, member, hostAddresses(paths)), path.posix.dirname(MEMBER_TLS.cert), POSTGRES_UID);
}

/**
 * The container startPostgresMember creates (and a rebuild re-creates, activities/member-rebuild.ts):
 * image, labels, limits, mounts (data volume and, unless the cluster has no backups, its
 * repository) and files.
 */
export async function postgresContainerWanted(docker: Docker, paths: Paths, i: PostgresMemberInput): Promise<ContainerWanted> {
  const { spec, member } = i;
  const l = labels(spec.name, 'postgres', member);
  const backups = spec.backups !== false;
  const settings: ClusterSettings = { profile: spec.profile, sync: spec.sync, syncStrict: spec.syncStrict ?? false, etcdMembers: spec.etcdMembers, backups,
    ...(spec.replaceAfterS !== undefined ? { replaceAfterS: spec.replaceAfterS } : {}),
    ...(spec.postgresVersion !== undefined ? { postgresVersion: spec.postgresVersion } : {}),
    ...(spec.size !== undefined ? { size: spec.size } : {}) };
  const version = versionOf(spec);
  // Unnamed, a member joins the generation that serves (a replica added after a blue/green
  // upgrade's finish is generation 2's, under its Patroni scope).
  const generation = i.generation ?? servingGeneration(paths, spec.name);
  const extraLabels: Record<string, string> = {
    [LABEL_SPEC]: JSON.stringify(settings), [LABEL_NOFAILOVER]: String(i.nofailover ?? false), ...generationLabels(generation),
  };
  if (i.directPort !== undefined) extraLabels[`${LABEL_PORT_PREFIX}direct`] = String(i.directPort);
  const direct = publishedOn(i.publishOn, [PG_PORT, PATRONI_API_PORT], i.directPort === undefined ? {} : {
    ExposedPorts: { [`${PG_PORT}/tcp`]: {} },
    PortBindings: { [`${PG_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(i.directPort) }] },
  });
  const volume = volumeName(spec.name, member);
  // The volume carries its generation as the container does: once the container is gone (a delete
  // that keeps the data), the label alone tells which generation's data it holds.
  await ensureVolume(docker, volume, { ...l, ...generationLabels(generation) });
  // Every member reaches the cluster's backup repository (its volume mounted, or its bucket):
  // whichever is leader pushes WAL and runs backups.
  const tls = clusterHasTls(paths, spec.name);
  // A backup on the leader reads a standby's files through the standby's pgBackRest TLS server,
  // authenticated by the cluster's CA: so only where the cluster has one.
  const backupServer = backups && tls ? await memberBackupServer(paths, spec.name, member) : undefined;
  const repository = await memberRepositoryAccess(paths, spec.name, { tlsServer: backupServer !== undefined });
  // The repository host is on the member's network before the member archives its first WAL.
  if (backups && repository.labels[LABEL_REPOSITORY] === 'host') await connectToCluster(docker, paths, spec.name);
  const repositoryVolume = repository.binds.length > 0 && backups;
  if (repositoryVolume) await ensureVolume(docker, repositoryVolumeName(spec.name), labels(spec.name, 'backup', 'repository'));
  const config = renderPatroniConfig({
    cluster: spec.name,
    member,
    etcdMembers: etcdMemberNames(spec.etcdMembers),
    profile: { ...PROFILES[spec.profile], patroni: profileTiming(spec.profile, version) },
    sync: spec.sync,
    syncStrict: spec.syncStrict ?? false,
    tags: { nofailover: i.nofailover ?? false, noloadbalance: i.noloadbalance ?? false },
    passwords: readClusterSecrets(paths, spec.name),
    archive: backups,
    ...(i.holdArchive ? { archiveHeld: true } : {}),
    tls,
    version,
    generation,
    ...(spec.size !== undefined ? { size: spec.size } : {}),
  });
  return {
    name: containerName(spec.name, member),
    labels: l,
    create: {
      Image: memberImage(version),
      Hostname: containerName(spec.name, member),
      Labels: { ...extraLabels, ...(backups ? repository.labels : {}), ...backupServer?.labels },
      ...(backupServer ? { Cmd: backupServer.cmd } : {}),
      StopTimeout: POSTGRES_STOP_TIMEOUT_SEC,
      ExposedPorts: direct.ExposedPorts,
      HostConfig: {
        PortBindings: direct.PortBindings,
        NetworkMode: networkName(spec.name),
        Binds: [
          `${volume}:${DATA_ROOT}`,
          ...(repositoryVolume ? repository.binds : []),
        ],
        ...(repository.extraHosts.length > 0 ? { ExtraHosts: repository.extraHosts } : {}),
        RestartPolicy: { Name: 'unless-stopped' },
        ShmSize: 256 * 1024 * 1024,
        // The size's CPU and memory limits (none without one); a resize re-creates the member with new ones.
        ...dockerLimits(spec.size),
      },
    },
    files: [
      { dir: path.posix.dirname(PATRONI_CONFIG_PATH), name: path.posix.basename(PATRONI_CONFIG_PATH), content: config, mode: 0o600, uid: POSTGRES_UID, gid: POSTGRES_UID },
      // pgbackrest.conf (0600: passphrase, S3 keys), and the S3 endpoint's private CA.
      ...repository.files,
      ...(backupServer?.files ?? []),
      ...(tls ? (await memberTlsFiles(paths, spec.name, member)).files : []),
    ],
  };
}

export function createPatroniActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    async startPostgresMember(i: PostgresMemberInput): Promise<void> {
      await ensureContainerRunning(docker, await postgresContainerWanted(docker, paths, i));
    },

    /**
     * Like startPostgresMember, but a container whose mounts differ from the wanted ones is
     * stopped gracefully (Patroni shuts PostgreSQL down and releases the leader key) and created
     * anew on the same data volume. `backup enable` uses it to add the repository to members
     * made without one.
     */
    async replacePostgresMember(i: PostgresMemberInput): Promise<{ replaced: boolean }> {
      const wanted = await postgresContainerWanted(docker, paths, i);
      const replaced = await removeIfLayoutDiffers(docker, wanted);
      await ensureContainerRunning(docker, wanted);
      return { replaced };
    },

    /**
     * The first member has won the race for the initialize key (it is bootstrapping, or already
     * runs from existing data): members started from now on clone instead of racing to bootstrap.
     */
    async waitForBootstrapClaimed(i: { cluster: string; member: string }): Promise<string> {
      return pollUntil<string>(
        `${i.member} to claim the bootstrap`,
        async () => {
          const api = await memberApi(inv, i.cluster, i.member);
          if (!api) return { status: `${i.member} not running` };
          const s = await getPatroni(api);
          return BOOTSTRAP_CLAIMED_STATES.has(s.state) ? { done: s.state } : { status: `${i.member} ${s.state}` };
        },
        { intervalMs: 100, timeoutMs: 180_000 },
      );
    },

    /** Stop the member gracefully (Patroni shuts PostgreSQL down) and remove its container; the volume stays. */
    async stopMember(i: { cluster: string; member: string }): Promise<void> {
      await stopAndRemoveContainer(docker, containerName(i.cluster, i.member), POSTGRES_STOP_TIMEOUT_SEC);
    },

    /** The member's key has left Patroni's /cluster (it expires after ttl once the node is gone). */
    async waitForMemberGone(i: { cluster: string; member: string; others: string[] }): Promise<void> {
      await pollUntil<true>(
        `${i.member} to leave the cluster`,
        async () => {
          const members = await clusterView(inv, i.cluster, i.others);
          if (!members) return { status: 'no Patroni API answers' };
          return members.some((m) => m.name === i.member) ? { status: `${i.member} still registered` } : { done: true };
        },
        { intervalMs: 1000, timeoutMs: 300_000 },
      );
    },

    async removeMemberVolume(i: { cluster: string; member: string }): Promise<void> {
      try {
        await docker.getVolume(volumeName(i.cluster, i.member)).remove();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },

    /** A member holds the leader key and its PostgreSQL is running. Returns the leader's name. */
    async waitForLeader(i: WaitLeaderInput & { timeoutMs?: number }): Promise<string> {
      return pollUntil<string>(
        'a leader',
        async () => {
          const members = await clusterView(inv, i.cluster, i.members);
          if (!members) return { status: 'no Patroni API answers yet' };
          const leader = members.find((m) => m.role === 'leader' && m.state === 'running');
          if (!leader) return { status: describe(members) };
          // /cluster reads etcd: a leader key kept from before a `delete --keep-data` names a member
          // that may not even run yet. Only the member's own API saying so counts.
          const api = await memberApi(inv, i.cluster, leader.name);
          const own = api ? await getPatroni(api).catch(() => undefined) : undefined;
          return own?.role === 'leader' && own.state === 'running' ? { done: leader.name } : { status: `${leader.name} holds the leader key but does not run as leader yet` };
        },
        { intervalMs: 250, timeoutMs: i.timeoutMs ?? 180_000 },
      );
    },

    /**
     * The member is cloned and streaming: the leader's /patroni replication[] lists it as
     * `streaming` (3.0.2 has no "streaming" member state) and /cluster shows its lag ≤ maxLag.
     * A large clone takes as long as it takes: the wait goes on while the member's data
     * directory grows (pg_basebackup) and then while its received and replayed WAL positions
     * move, and fails once they all stand still for stallMs.
     */
    async waitForReplicaStreaming(i: WaitStreamingInput): Promise<{ lag: number }> {
      let lastWake = 0;
      let lastReplicaWake = 0;
      const access = clusterAccess(paths, i.cluster);
      return pollWhileProgressing<{ lag: number }>(
        `${i.member} streaming`,
        async () => {
          const members = await clusterView(inv, i.cluster, i.members);
          if (!members) return { status: 'no Patroni API answers yet' };
          const me = members.find((m) => m.name === i.member);
          const leader = members.find((m) => m.role === 'leader');
          if (!me) return { status: `${i.member} not registered yet` };
          if (!leader) return { status: `no leader (${describe(members)})` };
          const leaderApi = await memberApi(inv, i.cluster, leader.name);
          if (!leaderApi) return { status: `leader ${leader.name} not reachable` };
          const status = await getPatroni(leaderApi);
          const row = status.replication.find((r) => r.application_name === i.member);
          if (!row && Date.now() - lastWake > 1000) {
            // The replica is registered but not connected: it may be waiting for its slot.
            lastWake = Date.now();
            await wakeHaLoop(leaderApi, access.patroniHeaders).catch(() => undefined);
          }
          if (!row || row.state !== 'streaming') return { status: `${i.member} ${me.state}, replication ${row?.state ?? 'not connected'}` };
          if (me.lag === undefined || me.lag > i.maxLagBytes) {
            // /cluster's lag is the member's position as its last HA loop wrote it to the DCS: a
            // replica that started streaming just after its loop would show it a loop_wait later
            // (10 s in the default profile). Its next loop now writes where it is.
            if (Date.now() - lastReplicaWake > 1000) {
              lastReplicaWake = Date.now();
              const replicaApi = await memberApi(inv, i.cluster, i.member);
              if (replicaApi) await wakeHaLoop(replicaApi, access.patroniHeaders).catch(() => undefined);
            }
            return { status: `${i.member} streaming, lag ${me.lag ?? 'unknown'}` };
          }
          return { done: { lag: me.lag } };
        },
        () => dataProgress(docker, containerName(i.cluster, i.member), DATA_DIR),
        { intervalMs: 250, measureEveryMs: 5000, stallMs: i.stallMs },
      );
    },
  };
}
