/**
 * Point-in-time restore of a new cluster's first member: a one-shot helper container mounts the
 * member's data volume and the source's repository read-only (or reaches its S3 bucket), restores, recovers to the target,
 * promotes, sets the new cluster's passwords and stops. The member's own container (started
 * next, by startPostgresMember) never mounts the source's repository.
 */
import * as path from 'node:path';
import type { Inventory } from './hosts/inventory';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import type { Paths } from '../common/paths';
import { LEGACY_POSTGRES_VERSION, type PostgresVersion } from '../common/postgres-version';
import { LABEL_CLUSTER, labels } from '../common/labels';
import { containerName, volumeName } from '../common/resource-names';
import { DATA_DIR, DATA_ROOT } from '../common/render/patroni';
import { ROLES_SQL_PATH, renderRestoreScript, renderRolesSql, type RestoreRequest } from '../common/render/restore';
import { parseTargetTime, pgbackrestTargetTime, type RestoreFrom } from '../common/restore';
import { putSourceConfig, restoreHelperImage, sourceRepositoryHostConfig } from './repository-access';
import { demux, ensureVolume, isNotFound, tarOf, withRunLabel } from './docker';
import { POSTGRES_UID } from './patroni';
import { ErrorTypes, finalError } from './errors';
import { pollWhileProgressing } from './heartbeat';
import { dataProgress } from './data-progress';
import { readClusterSecrets } from './secrets';

export const RESTORE_HELPER = 'restore';

function requestOf(r: RestoreFrom, version: PostgresVersion): RestoreRequest {
  if (r.target.kind === 'latest') return { sourceStanza: r.source, version };
  const ms = parseTargetTime(r.target.time);
  if (ms === undefined) throw finalError(ErrorTypes.RestoreFailed, `bad restore target time "${r.target.time}"`);
  return { sourceStanza: r.source, version, targetTime: pgbackrestTargetTime(ms) };
}

async function logTail(ct: Docker.Container): Promise<string> {
  const all = demux((await ct.logs({ stdout: true, stderr: true, tail: 30 })) as unknown as Buffer).trim().split('\n').filter(Boolean);
  // PostgreSQL's FATAL line says why recovery stopped; the lines after it are the shutdown.
  const telling = all.filter((l) => /FATAL|ERROR|PANIC|did not reach|failed/.test(l));
  return (telling.length > 0 ? telling : all).slice(-4).join(' / ');
}

export interface RestoreMemberInput {
  cluster: string;
  member: string;
  restoreFrom: RestoreFrom;
  /** The major of the backup it restores (the new cluster's); absent: 15. */
  version?: PostgresVersion;
  /** How long the restore, then recovery, may stand still before it fails (default 5 min). */
  stallMs?: number;
}

export function createRestoreActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    /**
     * Restore the member's data volume from the source's backups, to the target, promoted.
     * Idempotent: the helper container is the record. Running: wait for it, as long as it makes
     * progress (a final Stalled error, the helper removed, once it stands still). Exited 0: done.
     * Exited otherwise: removed, and a final error with its last lines (a retry would only
     * repeat what failed). It stays after success until removeRestoreHelper.
     */
    async restoreMemberData(i: RestoreMemberInput): Promise<{ seconds: number }> {
      const name = containerName(i.cluster, RESTORE_HELPER);
      const started = Date.now();
      let ct = docker.getContainer(name);
      let info: Docker.ContainerInspectInfo | undefined;
      try {
        info = await ct.inspect();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!info) {
        const volume = volumeName(i.cluster, i.member);
        await ensureVolume(docker, volume, labels(i.cluster, 'postgres', i.member));
        const source = sourceRepositoryHostConfig(paths, i.restoreFrom.source);
        const created = await docker.createContainer({
          name,
          Image: restoreHelperImage(paths, i.restoreFrom.source, i.version ?? LEGACY_POSTGRES_VERSION),
          User: 'postgres',
          Entrypoint: ['sh', '-c'],
          Cmd: [renderRestoreScript(requestOf(i.restoreFrom, i.version ?? LEGACY_POSTGRES_VERSION))],
          Labels: withRunLabel(labels(i.cluster, 'backup', RESTORE_HELPER)),
          HostConfig: {
            // A network only to reach an S3 source: from a mounted volume it needs none (it listens on a socket only).
            ...source,
            Binds: [`${volume}:${DATA_ROOT}`, ...(source.Binds ?? [])],
            ShmSize: 256 * 1024 * 1024,
          },
        }).catch((err: unknown) => {
          // 409: a concurrent attempt created it first; carry on with that one.
          if ((err as { statusCode?: number }).statusCode === 409) return docker.getContainer(name);
          throw err;
        });
        ct = created;
        info = await ct.inspect();
      }
      if (info.Config.Labels?.[LABEL_CLUSTER] !== i.cluster) {
        throw finalError(ErrorTypes.ResourceConflict, `container ${name} exists but does not belong to cluster ${i.cluster}`);
      }
      if (info.State.Status === 'created') {
        // Created but never started (also by an attempt that died in between): the role SQL and
        // the source's config go in before every start, so a retry never starts it without.
        const sql = renderRolesSql(readClusterSecrets(paths, i.cluster));
        const dir = path.posix.dirname(ROLES_SQL_PATH);
        await ct.putArchive(await tarOf({ dir, name: path.posix.basename(ROLES_SQL_PATH), content: sql, mode: 0o600, uid: POSTGRES_UID, gid: POSTGRES_UID }), { path: dir });
        await putSourceConfig(docker, ct, paths, i.restoreFrom.source);
        try {
          await ct.start();
        } catch (err) {
          // 304: started by a concurrent attempt.
          if ((err as { statusCode?: number }).statusCode !== 304) throw err;
        }
      }
      const what = `restore of ${i.member} from ${i.restoreFrom.source}`;
      const helper = ct;
      // No clock: the restore goes on while the data volume fills (pgbackrest restore) and then
      // while recovery moves from WAL file to WAL file; it fails once both stand still.
      const exitCode = await pollWhileProgressing<number | 'gone'>(
        what,
        async () => {
          const s = await helper.inspect().then((x) => x.State, (err: unknown) => {
            if (isNotFound(err)) return 'gone' as const;
            throw err;
          });
          if (s === 'gone') return { done: s };
          if (!s.Running && s.Status !== 'created') return { done: s.ExitCode };
          return { status: `running for ${Math.round((Date.now() - started) / 1000)} s` };
        },
        () => dataProgress(docker, name, DATA_DIR),
        { intervalMs: 200, measureEveryMs: 5000, stallMs: i.stallMs },
      ).catch(async (err: unknown) => {
        if (!(err instanceof ApplicationFailure && err.type === ErrorTypes.Stalled)) throw err;
        // A stalled helper goes, with its last lines in the error: nothing later (a
        // compensation, a create after it) finds it still holding the data volume.
        const tail = await logTail(helper).catch(() => '');
        await helper.remove({ force: true }).catch(() => undefined);
        throw finalError(ErrorTypes.Stalled, tail ? `${err.message}; its last lines: ${tail}` : err.message);
      });
      // Removed under it (by hand, or a concurrent attempt that saw it fail): a retry starts it anew.
      if (exitCode === 'gone') throw new Error(`the restore helper ${name} disappeared while it ran`);
      if (exitCode === 0) return { seconds: Math.round((Date.now() - started) / 100) / 10 };
      const tail = await logTail(helper).catch(() => '');
      await helper.remove({ force: true }).catch(() => undefined);
      throw finalError(ErrorTypes.RestoreFailed, `${what} failed (exit ${exitCode}): ${tail}`);
    },

    /** The helper has done its work once the member runs on the restored data. */
    async removeRestoreHelper(cluster: string): Promise<void> {
      try {
        await docker.getContainer(containerName(cluster, RESTORE_HELPER)).remove({ force: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}
