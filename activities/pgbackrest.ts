/**
 * Backups with pgBackRest 2.45; stanza = cluster name. Where the commands run depends on the
 * repository: on a volume (mounted in every member) or in S3, inside the current leader's
 * container, where pgBackRest sees the primary locally; on the repository host, as root there
 * (stanza-create, backup, expire, info), reaching the members' own TLS servers, while `check`
 * still runs on the leader (it proves the leader's archive_command reaches the host).
 */
import type Docker from 'dockerode';
import type { Inventory } from './hosts/inventory';
import { RUNNING_POSTGRES, byMemberName, type HostName, type Member } from '../common/inventory';
import type { Paths } from '../common/paths';
import { DEFAULT_DATABASE } from '../common/service-users';
import { labels } from '../common/labels';
import { containerName, repositoryVolumeName } from '../common/resource-names';
import type { StanzaSummary } from '../common/backup';
import { PGBACKREST_LOG_PATH, type Retention } from '../common/render/pgbackrest';
import { deleteBackupSettingsFile, readRepositoryLocation, writeRepositoryLocation, writeRetention } from './backup-settings';
import { adoptS3Credentials, deleteS3Credentials } from './s3-credentials';
import { checkS3Repository } from './s3-repository-check';
import { isS3Request, type RepositoryRequest } from '../common/repository';
import { deleteRowCounts } from './backup-checks';
import { ensureVolume, execIn, volumeExists } from './docker';
import { deleteS3Stanza, readRepositoryInfo, repositoryExists } from './backup-repository';
import { backupInfoInMembers, onRepositoryHost, pgbackrestCommand, pgbackrestFailure } from './backup-info';
import { deleteBackupPassphrase, ensureBackupPassphrase } from './backup-passphrase';
import { ErrorTypes, finalError } from './errors';
import { heartbeat, pollUntil } from './heartbeat';
import { clusterView, memberApi } from './patroni';
import type { ClusterMember } from './patroni-api';
import { clusterAccess } from './cluster-access';
import { patchDcsConfigAt } from './dcs-config';
import { SOCKET_DIR, archiveParameters } from '../common/render/patroni';
import { clusterHasTls, ensureClusterCa } from './cluster-tls';
import { ensureStanzaOnHost, purgeStanzaOnHost, repositoryHostName, runAsRoot, stanzaServerOf } from './repository-host/host';
import { versionOf, type PostgresVersion } from '../common/postgres-version';
import { psqlOn } from './upgrade/psql';


/** What SHOW archive_command says while archive_mode is off, whatever the command. */
const ARCHIVING_DISABLED = '(disabled)';

/** Patroni applies a DCS change within one HA loop (loop_wait, 10 s at most in the profiles); within a quick step's minute. */
const SETTING_APPLIED_MS = 40_000;

/** A standby this far behind would keep the backup waiting for its replay at the start; the leader serves instead. */
const STANDBY_MAX_LAG_BYTES = 16 * 1024 * 1024;

/**
 * The member Patroni reports as running leader, with the host it runs on; a final error when it
 * runs on a host this worker does not own (a host's worker sees its own engine only): the
 * workflow then asks again where the leader is and sends the step there.
 */
export async function leaderOf(inv: Inventory, cluster: string): Promise<Member> {
  return (await leaderWithView(inv, cluster)).leader;
}

/** leaderOf, with the view of the cluster it was read from (every member's role and state). */
export async function leaderWithView(inv: Inventory, cluster: string): Promise<{ leader: Member; view: ClusterMember[] }> {
  const members = await inv.members(cluster, RUNNING_POSTGRES);
  if (members.length === 0) throw finalError(ErrorTypes.ClusterNotFound, `no cluster named ${cluster}`);
  const view = await clusterView(inv, cluster, members.map((m) => m.name));
  // Right after its container dies, a leader stays in the replicas' view until its key expires:
  // a backup pointed at it would wait minutes for its name to resolve (Docker's DNS forwards it out).
  const leader = view?.find((m) => m.role === 'leader' && m.state === 'running');
  const here = leader && members.find((m) => m.name === leader.name);
  if (here && view) return { leader: here, view };
  // A leader whose container is here but stopped is one whose key has not expired yet.
  if (leader && !(await inv.memberNames(cluster, { kind: 'postgres' })).includes(leader.name)) {
    throw finalError(ErrorTypes.LeaderElsewhere, `the leader of ${cluster}, ${leader.name}, does not run on a host this worker owns`);
  }
  throw new Error(`cluster ${cluster} has no running leader right now`);
}

/** Run a pgbackrest command (`run`) where it runs, heartbeating; its output, or an error with pgBackRest's own error line. */
async function pgbackrestAt(where: string, args: string[], run: () => Promise<{ exitCode: number; output: string }>): Promise<string> {
  // `check` may wait up to archive-timeout (60 s) for WAL to arrive: prove the wait is alive.
  const alive = setInterval(() => heartbeat(`pgbackrest ${args[0]} on ${where}`), 2000);
  const r = await run().finally(() => clearInterval(alive));
  const failed = pgbackrestFailure(where, args, r);
  if (failed) throw failed;
  return r.output;
}

/** pgBackRest's exit code when WAL did not reach the repository within archive-timeout. */
const ARCHIVE_TIMEOUT_EXIT = 82;

/** Run pgbackrest as postgres inside a member's container. */
async function pgbackrest(docker: Docker, cluster: string, member: string, args: string[]): Promise<string> {
  const container = containerName(cluster, member);
  try {
    return await pgbackrestAt(member, args, () => execIn(docker, container, pgbackrestCommand(cluster, args)));
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes(`(exit ${ARCHIVE_TIMEOUT_EXIT})`)) throw err;
    // "not archived before the timeout" says nothing of why: archive_command's own last error does.
    throw new Error(`${err.message}; ${await lastArchivePushError(docker, container, cluster)}`);
  }
}

/** The member's last archive-push error (its pgBackRest log), for a WAL segment that did not arrive. */
async function lastArchivePushError(docker: Docker, container: string, cluster: string): Promise<string> {
  const r = await execIn(docker, container, ['sh', '-c', `grep -h 'ERROR:' ${PGBACKREST_LOG_PATH}/${cluster}-archive-push*.log 2>/dev/null | tail -n 1`]).catch(() => null);
  const line = r?.output.trim() ?? '';
  return line === '' ? 'archive-push logged no error (is archive_command running?)' : `archive-push's last error: ${line}`;
}

/**
 * Every Postgres container of the cluster mounts the repository (clusters made before backups
 * do not); a deleted cluster has one when its delete kept it.
 */
export async function clusterHasRepository(inv: Inventory, paths: Paths, cluster: string): Promise<boolean> {
  const pg = await inv.members(cluster, { kind: 'postgres' });
  if (pg.length === 0) return repositoryExists(inv.engine(), paths, cluster);
  return pg.every((m) => m.repository !== null);
}

/** What `pgbackrest info` knows, read on any running member, or without one for a deleted cluster's kept repository. */
export async function backupStatus(inv: Inventory, paths: Paths, cluster: string): Promise<StanzaSummary> {
  const inMembers = await backupInfoInMembers(inv, paths, cluster);
  if (inMembers) return inMembers;
  // The repository host (and a kept volume) live on the local engine.
  const docker = inv.engine();
  if (await repositoryExists(docker, paths, cluster)) return readRepositoryInfo(docker, paths, cluster);
  throw finalError(ErrorTypes.ClusterNotFound, `no cluster named ${cluster}`);
}

export function createPgbackrestActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    /**
     * The repository, encrypted: a new one gets its passphrase first, so no member ever uses it
     * without. A volume (its own, labelled with the cluster), or an S3 bucket: its staged
     * credentials adopted, its location kept in the backup settings, and the bucket checked
     * (reachable, our credentials taken, no stanza of this name unless it is our kept one). An
     * existing volume is left as it is (one from before encryption stays unencrypted). Idempotent.
     */
    async ensureBackupRepository(i: { cluster: string; repository?: RepositoryRequest; kept: boolean; version?: PostgresVersion }): Promise<void> {
      const { cluster, repository: request } = i;
      if (request && isS3Request(request)) {
        adoptS3Credentials(paths, cluster, request.credentialsRef);
        writeRepositoryLocation(paths, cluster, request.location);
      } else if (request) {
        // Root reaches the members' pgBackRest servers with a certificate from the cluster's CA. A
        // new cluster gets its CA in a step beside this one; one made before dbaas issued them has none.
        if (!clusterHasTls(paths, cluster)) {
          if ((await inv.memberNames(cluster, RUNNING_POSTGRES)).length > 0) throw finalError(ErrorTypes.RepositoryRefused, `cluster ${cluster} has no TLS certificates (made before dbaas issued them): it cannot use the repository host (\`--backup-to volume\` gives it a volume of its own)`);
          await ensureClusterCa(paths, cluster);
        }
        writeRepositoryLocation(paths, cluster, { type: 'host', host: repositoryHostName(paths) });
      }
      // Also without a request: a create on data kept from before finds its settings kept.
      const location = readRepositoryLocation(paths, cluster);
      if (location.type === 'host') {
        // A new stanza is encrypted; one moved from a volume keeps the volume's passphrase (or none, from before encryption).
        if (!stanzaServerOf(paths, cluster) && !(await volumeExists(docker, repositoryVolumeName(cluster)))) ensureBackupPassphrase(paths, cluster);
        heartbeat('the stanza on the repository host');
        await ensureStanzaOnHost(docker, paths, cluster, i.version);
        return;
      }
      if (location.type === 's3') {
        ensureBackupPassphrase(paths, cluster);
        heartbeat(`checking s3://${location.bucket}${location.path}`);
        // A kept repository holds the cluster's own stanza; a new one must find none.
        await checkS3Repository(docker, paths, cluster, { allowStanza: i.kept });
        return;
      }
      if (!(await repositoryExists(docker, paths, cluster))) ensureBackupPassphrase(paths, cluster);
      await ensureVolume(docker, repositoryVolumeName(cluster), labels(cluster, 'backup', 'repository'));
    },

    /** The stanza goes from the bucket or the repository host (a purge; a failed create's compensation for the repository its run made). A volume's goes with the volume. */
    async purgeRepositoryStanza(cluster: string): Promise<void> {
      const type = readRepositoryLocation(paths, cluster).type;
      if (type === 's3') await deleteS3Stanza(docker, paths, cluster);
      if (type === 'host') await purgeStanzaOnHost(docker, paths, cluster);
    },

    /** stanza-create (idempotent in pgBackRest when it matches) and `check`, which proves WAL archiving works. */
    async createStanza(cluster: string): Promise<{ member: string }> {
      const leader = await leaderOf(inv, cluster);
      const member = leader.name;
      // A repository host's cluster is on this machine: its leader's engine is the local one too.
      const engine = inv.engine(leader.host);
      heartbeat(`stanza-create on ${member}`);
      if (onRepositoryHost(paths, cluster)) {
        // The host joins the cluster's network (a restored cluster's is new), and root makes the stanza
        // with the pgBackRest of the members' major.
        await ensureStanzaOnHost(docker, paths, cluster, versionOf(leader.createdWith ?? {}));
        await pgbackrestAt('the repository host', ['stanza-create'], () => runAsRoot(docker, paths, cluster, ['stanza-create'], { pgHosts: [containerName(cluster, member)] }));
      } else {
        await pgbackrest(engine, cluster, member, ['stanza-create']);
      }
      heartbeat(`check on ${member}`);
      await pgbackrest(engine, cluster, member, ['check']);
      return { member };
    },

    /**
     * After a major upgrade: the stanza learns the new version and system identifier (its old
     * backups stay, listed under the old ones), then `check` pushes a WAL file of the new leader.
     * Until this ran the new leader's archive-push was refused, so its WAL waited in pg_wal.
     * On the repository host the stanza's server moves to the new major's pgBackRest first (the
     * members' own), and root upgrades the stanza.
     */
    async upgradeStanza(cluster: string): Promise<{ member: string }> {
      const leader = await leaderOf(inv, cluster);
      const engine = inv.engine(leader.host);
      heartbeat(`stanza-upgrade on ${leader.name}`);
      if (onRepositoryHost(paths, cluster)) {
        await ensureStanzaOnHost(docker, paths, cluster, versionOf(leader.createdWith ?? {}));
        await pgbackrestAt('the repository host', ['stanza-upgrade'], () => runAsRoot(docker, paths, cluster, ['stanza-upgrade'], { pgHosts: [containerName(cluster, leader.name)] }));
      } else {
        await pgbackrest(engine, cluster, leader.name, ['stanza-upgrade']);
      }
      heartbeat(`check on ${leader.name}`);
      await pgbackrest(engine, cluster, leader.name, ['check']);
      return { member: leader.name };
    },

    async clusterHasRepository(cluster: string): Promise<boolean> {
      return clusterHasRepository(inv, paths, cluster);
    },

    /** Postgres members whose container does not mount the repository (all of them for a cluster made with --no-backups). */
    async membersWithoutRepository(cluster: string): Promise<string[]> {
      const pg = await inv.members(cluster, { kind: 'postgres' });
      return pg.filter((m) => m.repository === null).map((m) => m.name);
    },

    /**
     * archive_mode and archive_command into Patroni's DCS config (PATCH /config on the leader),
     * and the leader running with that archive_command. archive_mode takes effect when a member's
     * PostgreSQL starts, so members are re-created after this; archive_command with a reload,
     * which Patroni makes after its next HA loop (the PATCH wakes it): until then the leader
     * still runs the old one (a blue/green upgrade's new leader: /bin/true, where a `check`
     * would wait out its timeout). Idempotent.
     */
    async enableWalArchiving(cluster: string): Promise<void> {
      const leader = await leaderOf(inv, cluster);
      const api = await memberApi(inv, cluster, leader.name);
      if (!api) throw new Error(`leader ${leader.name} of ${cluster} is not reachable`);
      const parameters = archiveParameters(cluster);
      await patchDcsConfigAt(api, clusterAccess(paths, cluster), { postgresql: { parameters } });
      const container = containerName(cluster, leader.name);
      await pollUntil(`${leader.name} to run the new archive_command`, async () => {
        const now = await psqlOn(inv.engine(leader.host), container, DEFAULT_DATABASE, 'SHOW archive_command');
        // "(disabled)": archive_mode is off (backup enable), and the members' re-creation that follows applies both.
        return now === parameters.archive_command || now === ARCHIVING_DISABLED ? { done: true } : { status: `it runs archive_command ${now}` };
      }, { intervalMs: 500, timeoutMs: SETTING_APPLIED_MS });
    },

    /**
     * Push the WAL written so far into the repository (`check` switches the segment and waits for
     * it to be archived). First one empty transaction commits (it takes a transaction id and
     * changes no data): recovery to a time stops at the first commit after it, and PostgreSQL 15
     * refuses to end recovery short of its target, so on a quiet database a target of "just now"
     * would otherwise be unreachable.
     */
    async archiveCurrentWal(cluster: string, of?: string): Promise<{ member: string }> {
      // `of`: a primary that no longer serves (a blue/green upgrade's old leader, read-only after the cutover).
      const leader = of === undefined ? await leaderOf(inv, cluster) : await inv.member(cluster, of);
      if (!leader) throw new Error(`${cluster} has no member ${of}`);
      const member = leader.name;
      const engine = inv.engine(leader.host);
      // Local commit: a synchronous standby that is slow or gone must not hold the restore up.
      const commit = await execIn(engine, containerName(cluster, member), [
        'psql', '-h', SOCKET_DIR, '-d', DEFAULT_DATABASE, '-XAtq',
        '-c', 'set synchronous_commit = local', '-c', "set statement_timeout = '30s'", '-c', 'select pg_current_xact_id()',
      ]);
      if (commit.exitCode !== 0) throw new Error(`empty commit on ${member} failed: ${commit.output.trim()}`);
      await pgbackrest(engine, cluster, member, ['check']);
      return { member };
    },

    async backupStatus(cluster: string): Promise<StanzaSummary> {
      return backupStatus(inv, paths, cluster);
    },

    /**
     * The host the cluster's running leader is on: the worker of that host runs the steps that
     * exec in it (stanza-create, backup, WAL check). Asked of the control worker, which sees every
     * host; a leader on a host that does not answer is no running leader (retried).
     */
    async leaderHost(cluster: string): Promise<HostName> {
      try {
        return (await leaderOf(inv, cluster)).host;
      } catch (err) {
        if ((err as { type?: string }).type === ErrorTypes.LeaderElsewhere) throw new Error(`cluster ${cluster} has no running leader on a host that answers right now`);
        throw err;
      }
    },

    /**
     * The replica a backup should read its data files from, or null: a streaming replica whose
     * container runs the pgBackRest server (members made before it do not), least behind first.
     */
    async backupStandby(cluster: string): Promise<string | null> {
      const pg = await inv.members(cluster, RUNNING_POSTGRES);
      const serving = new Set(pg.filter((m) => m.backupServerPort !== null).map((m) => m.name));
      const view = (await clusterView(inv, cluster, [...serving])) ?? [];
      const candidates = view.filter((m) => m.role !== 'leader' && m.state === 'running' && serving.has(m.name) && (m.lag ?? 0) <= STANDBY_MAX_LAG_BYTES);
      candidates.sort((a, b) => (a.lag ?? 0) - (b.lag ?? 0) || byMemberName(a.name, b.name));
      return candidates[0]?.name ?? null;
    },

    /** Keep the cluster's retention for this and later backups. */
    async saveRetention(i: { cluster: string; retention: Partial<Retention> }): Promise<Retention> {
      return writeRetention(paths, i.cluster, i.retention);
    },

    /** With the repository gone (purged), its settings and its passphrase go too. */
    async deleteBackupSettings(cluster: string): Promise<void> {
      deleteBackupSettingsFile(paths, cluster);
      deleteS3Credentials(paths, cluster);
      deleteRowCounts(paths, cluster);
      deleteBackupPassphrase(paths, cluster);
    },
  };
}
