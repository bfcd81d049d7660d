/** The steps of major upgrades that no other operation has (workflows/upgrade/). */
import type { Paths } from '../../common/paths';
import { pgBinDir, type PostgresVersion } from '../../common/postgres-version';
import { SOCKET_DIR } from '../../common/render/patroni';
import { containerName } from '../../common/resource-names';
import { IMAGES } from '../../common/images';
import { execIn, isNotFound } from '../docker';
import { heartbeat } from '../heartbeat';
import type { Inventory } from '../hosts/inventory';
import { POSTGRES_STOP_TIMEOUT_SEC } from '../patroni';
import { forgetClusterState } from './dcs-reset';
import { helperName, runPgUpgrade, waitForEarlierHelper, type PgUpgradeInput } from './helper';
import { oldDataDir } from './pg-upgrade-script';
import { readReplicationBlockers } from './replication-blockers';
import { createLogicalCopySteps } from './logical-copy';
import { createCutoverSteps } from './cutover';
import { createServingStateSteps } from './serving-state';
import { FIRST_GENERATION } from '../../common/generations';
import { nextMemberNames } from '../../common/members';
import { keptNextGenerationProblem } from '../../common/kept-data';
import { clusterVolumes } from '../cluster';
import { ErrorTypes, finalError } from '../errors';
import type { ReplicationBlockers } from '../../common/logical-replication';

export function createUpgradeActivities(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  return {
    ...createLogicalCopySteps(inv, paths),
    ...createCutoverSteps(inv, paths),
    ...createServingStateSteps(inv, paths),

    /**
     * The generation a blue/green upgrade builds (the one after the serving one), new names for
     * its members (one per serving member, numbering continued), and the members an earlier,
     * interrupted run left of that generation: those go before it is built anew (they may hold
     * another major, or a half-made copy). Refused while data of that generation is kept without
     * members (a create on kept data left it): it is the user's, and would mix with the new one's.
     */
    async nextGeneration(i: { cluster: string; namesInUse: string[]; count: number }): Promise<{ generation: number; members: string[]; leftovers: string[] }> {
      const serving = (await inv.members(i.cluster, { kind: 'postgres' }))[0]?.generation ?? FIRST_GENERATION;
      const generation = serving + 1;
      const leftovers = await inv.memberNames(i.cluster, { kind: 'postgres', generation });
      const kept = (await clusterVolumes(inv, paths, i.cluster))
        .filter((v) => v.role === 'postgres' && v.generation === generation && !leftovers.includes(v.member ?? ''));
      if (kept.length > 0) throw finalError(ErrorTypes.MemberRefused, keptNextGenerationProblem(i.cluster, generation, kept.map((v) => v.name)));
      return { generation, members: nextMemberNames(i.namesInUse, i.count), leftovers };
    },

    /** The helper image is built by `dev up` (after both PostgreSQL images); a worker of an older dbaas has none. */
    async upgradeHelperImageProblem(): Promise<string | null> {
      try {
        await docker.getImage(IMAGES.postgresUpgrade).inspect();
        return null;
      } catch (err) {
        if (isNotFound(err)) return `image ${IMAGES.postgresUpgrade} is missing: run \`dbaas dev up\` to build it`;
        throw err;
      }
    },

    /**
     * Patroni shuts PostgreSQL down cleanly (pg_upgrade wants that) and the container stays,
     * stopped: the cluster's members remain listed (the watch does not take it for deleted), and
     * a refused upgrade starts them again as they were.
     */
    async stopMemberKeepingContainer(i: { cluster: string; member: string }): Promise<void> {
      const ct = docker.getContainer(containerName(i.cluster, i.member));
      try {
        if ((await ct.inspect()).State.Running) await ct.stop({ t: POSTGRES_STOP_TIMEOUT_SEC });
      } catch (err) {
        // 304: stopped meanwhile.
        if (!isNotFound(err) && (err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    },

    /** Never beside a helper still at work on the same data (a cancelled run's): two postmasters on one directory. */
    async startStoppedMember(i: { cluster: string; member: string }): Promise<void> {
      await waitForEarlierHelper(docker, helperName(i.cluster, i.member));
      const ct = docker.getContainer(containerName(i.cluster, i.member));
      if (!(await ct.inspect()).State.Running) await ct.start();
    },

    async runPgUpgrade(i: PgUpgradeInput): Promise<{ output: string }> {
      return runPgUpgrade(docker, i);
    },

    async forgetClusterState(cluster: string): Promise<{ deleted: string[] }> {
      return forgetClusterState(inv, paths, cluster);
    },

    /** The blue/green preflight: per database, what logical replication cannot carry (read on the leader). */
    async replicationBlockers(i: { cluster: string; member: string }): Promise<ReplicationBlockers[]> {
      heartbeat(`reading what logical replication cannot carry on ${i.member}`);
      return readReplicationBlockers(docker, containerName(i.cluster, i.member));
    },

    /** pg_upgrade carries no planner statistics: a minimal set first (queries plan sensibly within seconds), then the full one. */
    async analyzeAfterUpgrade(i: { cluster: string; member: string; version: PostgresVersion }): Promise<{ output: string }> {
      heartbeat(`vacuumdb --all --analyze-in-stages on ${i.member}`);
      const r = await execIn(docker, containerName(i.cluster, i.member), [`${pgBinDir(i.version)}/vacuumdb`, '--all', '--analyze-in-stages', '-h', SOCKET_DIR]);
      if (r.exitCode !== 0) throw new Error(`vacuumdb --analyze-in-stages on ${i.member} failed (exit ${r.exitCode}): ${r.output.trim().split('\n').pop() ?? ''}`);
      return { output: r.output.trim().split('\n').slice(-3).join('\n') };
    },

    /** The old major's data directory, kept beside the new one until the cluster runs on it (its files are mostly the new one's, hard-linked). */
    async removeOldData(i: { cluster: string; member: string; from: PostgresVersion }): Promise<void> {
      const r = await execIn(docker, containerName(i.cluster, i.member), ['rm', '-rf', oldDataDir(i.from)]);
      if (r.exitCode !== 0) throw new Error(`removing ${oldDataDir(i.from)} on ${i.member} failed: ${r.output.trim()}`);
    },
  };
}
